//! What the host says of its inference engine (`--engine=<version>:<python>` before the
//! command), reported by `--version --json` as `engine`. The guest never runs it; a host
//! without one (the npm package) says nothing and `engine` is `null`.

use serde::Serialize;

/// The guest option that carries the engine.
pub const FLAG: &str = "--engine=";

/// The host's engine: mlx-lm in a Python.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineInfo {
    /// Always `mlx-lm`.
    pub name: &'static str,
    /// mlx-lm's version.
    pub version: String,
    /// The interpreter that has it.
    pub python: String,
}

/// Takes the engine option out of the front of `args`. The version has no `:`, so the
/// first one separates it from the path (which may hold more).
pub fn extract(args: &mut Vec<String>) -> Option<EngineInfo> {
    let value = args.first()?.strip_prefix(FLAG)?.to_owned();
    args.remove(0);
    let (version, python) = value.split_once(':')?;
    (!version.is_empty() && !python.is_empty()).then(|| EngineInfo {
        name: "mlx-lm",
        version: version.to_owned(),
        python: python.to_owned(),
    })
}

/// The option a host passes for `engine`.
pub fn to_arg(version: &str, python: &str) -> String {
    format!("{FLAG}{version}:{python}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_colon_ends_the_version() {
        let mut args = vec![to_arg("0.31.3", "/opt/a:b/python"), "--version".into()];
        let info = extract(&mut args).unwrap();
        assert_eq!(
            (info.version.as_str(), info.python.as_str()),
            ("0.31.3", "/opt/a:b/python")
        );
        assert_eq!(args, ["--version"]);
    }

    #[test]
    fn an_empty_half_is_no_engine_and_the_option_is_still_taken() {
        let mut args = vec!["--engine=:/p".to_owned(), "--version".into()];
        assert_eq!(extract(&mut args), None);
        assert_eq!(args, ["--version"]);
        let mut args = vec!["--version".to_owned()];
        assert_eq!(extract(&mut args), None);
        assert_eq!(args, ["--version"]);
    }
}

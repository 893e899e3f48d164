//! `--version`: the tool's and the JSON API's versions.

use super::Outcome;
use crate::engine::EngineInfo;
use crate::protocol::{CLI_VERSION, CommandName, Envelope, JSON_API_SPEC_VERSION, VersionData};

/// Builds the version envelope; human form is `<program> <version>`.
pub fn run(program: &str, engine: Option<EngineInfo>) -> Outcome {
    Outcome {
        envelope: Envelope::success(
            CommandName::Version,
            VersionData {
                cli_version: CLI_VERSION,
                json_api_spec_version: JSON_API_SPEC_VERSION,
                system: None,
                engine,
            },
        ),
        human: format!("{program} {CLI_VERSION}\n"),
        exit_code: None,
    }
}

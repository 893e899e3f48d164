# Shared by the benchmark scripts (sourced, not run): messages, quoting, and the tools
# they need, installed with apt when missing.

say() { printf '==> %s\n' "$*" >&2; }
q() { printf '%q' "$1"; }

# require_tools CMD...: installs (apt, as root) every command that is missing; `time` means
# GNU time at /usr/bin/time, which the shell's builtin does not replace.
require_tools() {
  local missing=() tool
  for tool in "$@"; do
    if [[ $tool == time ]]; then
      [[ -x /usr/bin/time ]] || missing+=(time)
    else
      command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    fi
  done
  if ((${#missing[@]})); then
    say "installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

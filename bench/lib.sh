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

# hfjs_install DIR: @huggingface/hub (pinned by HFJS_REQ) in DIR/node_modules, reinstalled when
# the pin changes. Shared by pull.sh (snapshotDownload) and run.sh (scanCacheDir).
HFJS_REQ="@huggingface/hub@2.17.5"
hfjs_install() {
  local dir=$1
  if [[ "$(cat "$dir/.installed" 2>/dev/null)" != "$HFJS_REQ" ]]; then
    say "installing $HFJS_REQ into $dir"
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && echo '{"private":true}' >package.json &&
      npm install --no-audit --no-fund --loglevel=error "$HFJS_REQ" >/dev/null)
    echo "$HFJS_REQ" >"$dir/.installed"
  fi
}

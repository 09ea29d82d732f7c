# Shared helpers for ./dev (sourced). Idempotent: each step checks before it acts.

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

# ensure_apt PKG... : installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local apt=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
  as_root env DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# apt_list FILE : package names from a list file (comments and blank lines ignored).
apt_list() { grep -v '^\s*#' "$1" | tr -s ' \t' '\n' | grep -v '^$'; }

ensure_node() {
  command -v node >/dev/null || die "Node.js ≥ 20.19 is required (https://nodejs.org or NodeSource); Debian 12's nodejs 18 is too old"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js ≥ 20.19 is required, found $(node --version)"
  command -v npm >/dev/null || die "npm is required"
}

# ensure_npm : npm ci when node_modules does not match package-lock.json.
ensure_npm() {
  local stamp=node_modules/.nbg-lock-hash want
  want=$(sha256sum package-lock.json package.json */package.json 2>/dev/null | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "installing npm dependencies (native modules compile once)"
  npm ci --no-fund --no-audit --loglevel=error
  echo "$want" > "$stamp"
}

build_all() {
  log "building"
  node scripts/build.mjs
}

docker_running() { docker info >/dev/null 2>&1; }

# ensure_dockerd : starts dockerd in the background when it is installed and not running.
ensure_dockerd() {
  docker_running && return 0
  command -v dockerd >/dev/null || return 1
  log "starting dockerd"
  mkdir -p /var/log
  (setsid dockerd >/var/log/nbg-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do docker_running && return 0; sleep 0.5; done
  die "dockerd did not start; see /var/log/nbg-dockerd.log"
}

#!/bin/sh
# engine-env.sh ENV_DIR DEBIAN_PACKAGE...
# Makes an engine environment out of Debian packages (PyPI is not reachable when images are
# built): a venv that sees the system site-packages (numpy, pandas, ipykernel…), into which the
# Python modules of the given packages are moved. /usr/bin/python3 is then the plain Python
# environment without the AI engine (SPEC §3), and ENV_DIR/bin/python the engine environment.
set -eu
env_dir=$1
shift
python3 -m venv --system-site-packages --without-pip "$env_dir"
site=$(ls -d "$env_dir"/lib/python3*/site-packages)
dist=/usr/lib/python3/dist-packages
for pkg in "$@"; do
  # Top-level entries each package installed into dist-packages (modules, *.dist-info, *.egg-info).
  dpkg -L "$pkg" | sed -n "s#^$dist/\([^/]*\).*#\1#p" | sort -u | while read -r top; do
    [ -e "$dist/$top" ] || continue
    # Relative symlinks (torch/lib/*.so → /usr/lib/…) would break once moved: make them absolute.
    find "$dist/$top" -type l | while read -r link; do ln -sfn "$(readlink -f "$link")" "$link"; done
    mv "$dist/$top" "$site/"
  done
done

#!/bin/sh
# kernelspec.sh NAME PYTHON DISPLAY_NAME
# Writes a Jupyter kernelspec for an ipykernel under /usr/local/share/jupyter/kernels/NAME,
# which the agent searches before Debian's /usr/share/jupyter (jupyter_core's order).
set -eu
name=$1 python=$2 display=$3
dir=/usr/local/share/jupyter/kernels/$name
mkdir -p "$dir"
"$python" -c 'import ipykernel' # the environment must be able to run the kernel
cat > "$dir/kernel.json" <<JSON
{
  "argv": ["$python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
  "display_name": "$display",
  "language": "python",
  "interrupt_mode": "signal",
  "metadata": { "debugger": true }
}
JSON
# Logos from Debian's ipykernel, when it ships them.
for f in /usr/share/jupyter/kernels/python3/logo-*; do [ -e "$f" ] && cp "$f" "$dir/"; done
exit 0

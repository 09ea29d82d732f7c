#!/bin/sh
# Runs inside the debootstrapped root (chroot) before it is imported as nbgateway/base.
# Creates the unprivileged user every instance runs as (SPEC §1: ma-user, uid 1000) and
# trims what containers never need.
set -eu

# ModelArts' convention: ma-user (uid 1000) in group 100 ("users" on Debian).
useradd --uid 1000 --gid 100 --create-home --home-dir /home/ma-user --shell /bin/bash ma-user
# ~/work is where the per-instance volume is mounted; it exists so images run without one too.
install -d -o 1000 -g 100 -m 0755 /home/ma-user/work /home/ma-user/.local /home/ma-user/.local/bin
cat >> /home/ma-user/.bashrc <<'RC'
# nbgateway: start in ~/work, show the instance in the prompt.
cd ~/work 2>/dev/null || true
PS1='\u@notebook:\w\$ '
RC

# Images are rebuilt, not upgraded in place: no docs, man pages or translations in layers.
cat > /etc/dpkg/dpkg.cfg.d/nbg-nodoc <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
CFG
cat > /etc/apt/apt.conf.d/90nbg <<'CFG'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "3";
CFG
rm -rf /usr/share/doc/*/[!c]* /usr/share/man/* /usr/share/info/* /var/cache/apt/*.bin /var/lib/apt/lists/* /var/log/*.log

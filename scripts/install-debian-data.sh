#!/usr/bin/env bash
# Installs the optional Debian data (the Spanish Bible for en-es) when it is missing.
# Runs apt-get only as root; otherwise says what to run. Never fails the set-up: en-ny needs no Debian data.
set -u
packages=()
[ -f /usr/share/sword/mods.d/spaRV1909eb.conf ] || packages+=(sword-text-sparv)
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${packages[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}") >/dev/null \
    || echo "warning: apt-get could not install ${packages[*]}; en-es will be unavailable" >&2
else
  echo "optional: sudo apt-get install ${packages[*]}   (the English-Spanish bitext)" >&2
fi

# Shared shell helpers for the demo, tests and benchmarks.

# A free TCP port on loopback (bind to port 0 and ask the kernel).
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until something accepts connections on 127.0.0.1:$1.
wait_port() {
  local port=$1 i
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing answers on 127.0.0.1:$port" >&2
  return 1
}

# ---- a private apt configuration, for Debian source packages ------------------------------
# private_apt DIR [SUITE...]: writes DIR/sources.list with a `deb-src` line for each Debian
# mirror that this machine's own `deb` entries name (/etc/apt/sources.list*, one-line and
# deb822 forms), and sets the array PRIVATE_APT to the apt-get options that use only that
# list, with its own lists and cache under DIR. The system's apt setup is read, never
# changed, and apt still checks every file against the mirror's signed index.
# With SUITEs (e.g. trixie), each mirror that serves a release's main suite (bookworm, not
# bookworm-security or bookworm-updates) gets those suites instead of the machine's own:
# a source package from another release, from the same mirror and the same keyring.
private_apt() {
  local dir=$1
  shift
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" || return 1
  /usr/bin/python3 - "$dir/sources.list" "$@" <<'EOF' || return 1
import glob, re, sys
out, extra = sys.argv[1], sys.argv[2:]
lines = []
def add(uri, suites, comps, signed):
    if "debian" not in uri:
        return
    if extra:
        # only a main suite's mirror: -security and -updates have their own names
        suites = extra if any("-" not in s and "/" not in s for s in suites) else []
    opt = f" [signed-by={signed}]" if signed else ""
    for suite in suites:
        line = f"deb-src{opt} {uri} {suite} {' '.join(comps)}"
        if line not in lines:
            lines.append(line)
for path in glob.glob("/etc/apt/sources.list") + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    for raw in open(path, errors="replace"):
        m = re.match(r"\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.+)", raw)
        if m:
            opts = m.group(1) or ""
            s = re.search(r"signed-by=(\S+?)[\s\]]", opts)
            add(m.group(2), [m.group(3)], m.group(4).split(), s.group(1) if s else "")
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path, errors="replace").read()):
        fields = {}
        for raw in stanza.splitlines():
            if raw.startswith("#") or ":" not in raw:
                continue
            k, v = raw.split(":", 1)
            fields[k.strip().lower()] = v.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes") == "no":
            continue
        for uri in fields.get("uris", "").split():
            add(uri, fields.get("suites", "").split(), fields.get("components", "").split(),
                fields.get("signed-by", ""))
if not lines:
    sys.exit("no Debian mirror found in /etc/apt/sources.list*")
open(out, "w").write("\n".join(lines) + "\n")
EOF
  # shellcheck disable=SC2034  # the caller's apt-get options
  PRIVATE_APT=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o "Dir::Etc::sourceparts=-"
               -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
               -o "APT::Get::List-Cleanup=0")
}

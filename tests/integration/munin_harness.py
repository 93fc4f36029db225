"""Debian's munin 2.0 (munin-node, munin-common and the master `munin`, unpacked into the
build folder as Nagios and Prometheus are, never installed as services): a munin-node on a
free loopback port serving plugins from a folder of the test's own, a client that speaks
munin-node's protocol, and the master's cron steps (munin-update, munin-limits, munin-html,
munin-graph) drawing PNGs with rrdtool.

munin-node reads its plugin and plugin-conf.d folders from Munin::Common::Defaults, the
paths the package was built with; the node gets a copy of that module with the test's
folders instead, first on its @INC (the same as building munin with another prefix). The
master refuses to run as root: as root, its steps run as `nobody`."""

import os
import pwd
import shutil
import socket
import subprocess

import pulse_harness as ph


def _tools():
    return {p: ph.ensure_debian_tool(p) for p in ("munin-common", "munin-node", "munin")}


def _defaults_module(dest, confdir, statedir):
    """Munin/Common/Defaults.pm with the test's folders, under dest."""
    src = _tools()["munin-common"] / "usr/share/perl5/Munin/Common/Defaults.pm"
    text = src.read_text()
    user = pwd.getpwuid(os.geteuid()).pw_name
    for key, value in (("MUNIN_CONFDIR", confdir), ("MUNIN_PLUGSTATE", statedir),
                       ("MUNIN_SPOOLDIR", statedir), ("MUNIN_USER", user),
                       ("MUNIN_GROUP", user), ("MUNIN_PLUGINUSER", user)):
        old = next(line for line in text.splitlines() if line.startswith(f"our ${key} "))
        text = text.replace(old, f"our ${key} = q{{{value}}};")
    out = dest / "Munin/Common/Defaults.pm"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


class MuninNode:
    """munin-node on 127.0.0.1:<free port>, host_name `pod`, serving `plugins` =
    {link name: target} with `plugin_env` for [pulse_*] in plugin-conf.d."""

    def __init__(self, plugins, plugin_env, base=None):
        self.dir = ph._fresh_dir(base, "munin-node")
        self.port = ph.free_port()
        conf = self.dir / "conf"
        (conf / "plugins").mkdir(parents=True)
        (conf / "plugin-conf.d").mkdir()
        (self.dir / "state").mkdir()
        _defaults_module(self.dir / "lib", conf, self.dir / "state")
        for name, target in plugins.items():
            (conf / "plugins" / name).symlink_to(target)
        env = "".join(f"env.{k} {v}\n" for k, v in plugin_env.items())
        ph._write(conf / "plugin-conf.d/pulse", f"[pulse_*]\n{env}")
        user = pwd.getpwuid(os.geteuid()).pw_name
        ph._write(self.dir / "munin-node.conf", (
            f"log_level 4\nlog_file {self.dir}/munin-node.log\npid_file {self.dir}/node.pid\n"
            f"background 0\nsetsid 0\nuser {user}\ngroup {user}\nhost_name pod\n"
            f"allow ^127\\.0\\.0\\.1$\nhost 127.0.0.1\nport {self.port}\n"))
        self.proc = None

    def start(self):
        t = _tools()
        inc = [f"-I{self.dir / 'lib'}", f"-I{t['munin-node'] / 'usr/share/perl5'}",
               f"-I{t['munin-common'] / 'usr/share/perl5'}"]
        self._log = open(self.dir / "stdout.log", "wb")
        # -T: munin-node's #! line asks for taint mode, and perl wants it said again
        self.proc = subprocess.Popen(
            ["perl", "-T", *inc, str(t["munin-node"] / "usr/sbin/munin-node"),
             "--config", str(self.dir / "munin-node.conf"), "--foreground"],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir)
        ph.wait_for(lambda: self.proc.poll() is None and ph.port_open(self.port),
                    message="munin-node listening")
        return self

    def session(self):
        return MuninSession(self.port)

    def log(self):
        path = self.dir / "munin-node.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        if self.proc is not None:
            ph.stop_process(self.proc)
            self._log.close()
            self.proc = None


class MuninSession:
    """munin-node's protocol, as the master speaks it."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rw", encoding="utf-8", newline="\n")
        self.banner = self.f.readline().strip()

    def line(self, command):
        self.f.write(command + "\n")
        self.f.flush()
        return self.f.readline().rstrip("\n")

    def block(self, command):
        """The lines of a multi-line answer, up to the "." that ends it."""
        self.f.write(command + "\n")
        self.f.flush()
        out = []
        while True:
            line = self.f.readline()
            if line == "":
                raise ph.HarnessError(f"munin-node closed the connection after {command!r}")
            if line.rstrip("\n") == ".":
                return out
            out.append(line.rstrip("\n"))

    def close(self):
        try:
            self.f.write("quit\n")
            self.f.flush()
        except OSError:
            pass
        self.sock.close()


def multigraphs(lines):
    """{graph: [lines]} of a multigraph config or fetch answer."""
    graphs, current = {}, None
    for line in lines:
        if line.startswith("multigraph "):
            current = line.split(" ", 1)[1]
            graphs[current] = []
        elif current is not None:
            graphs[current].append(line)
    return graphs


class MuninMaster:
    """The master's cron steps over one node (group `pulse`, host `pod`)."""

    def __init__(self, node_port, base=None):
        self.dir = ph._fresh_dir(base, "munin-master")
        for d in ("db", "www", "log", "run"):
            (self.dir / d).mkdir()
        t = _tools()
        _defaults_module(self.dir / "lib", self.dir, self.dir / "run")
        ph._write(self.dir / "munin.conf", (
            f"dbdir {self.dir}/db\nhtmldir {self.dir}/www\nlogdir {self.dir}/log\n"
            f"rundir {self.dir}/run\ntmpldir {t['munin'] / 'etc/munin/templates'}\n"
            f"staticdir {t['munin'] / 'etc/munin/static'}\n"
            "graph_strategy cron\nhtml_strategy cron\n"
            f"[pulse;pod]\n    address 127.0.0.1\n    port {node_port}\n"))
        self.as_user = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            for path in self.dir.rglob("*"):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self.as_user = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
                            "--clear-groups"]

    def step(self, name, *args):
        t = _tools()
        inc = [f"-I{self.dir / 'lib'}", f"-I{t['munin'] / 'usr/share/perl5'}",
               f"-I{t['munin-common'] / 'usr/share/perl5'}"]
        r = subprocess.run(
            [*self.as_user, "perl", *inc, str(t["munin"] / "usr/share/munin" / name), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=self.dir,
            timeout=120)
        if r.returncode != 0:
            raise ph.HarnessError(f"{name} exited {r.returncode}:\n{r.stdout}\n"
                                  f"{self.logs()}")
        return r.stdout

    def update(self):
        return self.step("munin-update", f"--config_file={self.dir}/munin.conf", "--nofork")

    def draw(self):
        """munin-limits, munin-html, munin-graph, as munin-cron runs them after an update."""
        self.step("munin-limits", f"--config={self.dir}/munin.conf")
        self.step("munin-html", f"--config={self.dir}/munin.conf")
        self.step("munin-graph", f"--config={self.dir}/munin.conf", "--cron")
        return sorted((self.dir / "www/pulse/pod").glob("*.png"))

    def rrd_last(self, graph, field):
        """The last value munin-update stored for graph.field (rrdtool lastupdate)."""
        found = list((self.dir / "db/pulse").glob(f"pod-{graph}-{field}-*.rrd"))
        if len(found) != 1:
            raise ph.HarnessError(f"no single RRD for {graph}.{field}: {found}")
        out = subprocess.run(["rrdtool", "lastupdate", str(found[0])], stdout=subprocess.PIPE,
                             text=True, check=True).stdout
        return out.strip().splitlines()[-1].split(":", 1)[1].strip()

    def logs(self):
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-2000:]}"
                         for p in sorted((self.dir / "log").glob("*.log")))


def copy_picture(png, name):
    """Keeps a graph in build/ for people (and docs/monitoring.md) to look at."""
    dest = ph.build_dir() / "monitoring" / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(png, dest)
    return dest

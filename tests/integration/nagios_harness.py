"""A real Nagios 4 (Debian's nagios4-core, unpacked into the build folder, never installed
as a daemon) running `pulse-sidecar check` as service checks, every second, from a
configuration of its own in a temporary folder; the results are read from the status file
Nagios writes, as its CGIs read them."""

import re
import subprocess
import time

import pulse_harness as ph

MAIN_CFG = """\
log_file={d}/nagios.log
cfg_file={d}/objects.cfg
object_cache_file={d}/objects.cache
precached_object_file={d}/objects.precache
resource_file={d}/resource.cfg
status_file={d}/status.dat
status_update_interval=1
nagios_user={user}
nagios_group={group}
check_external_commands=1
command_file={d}/nagios.cmd
query_socket={d}/nagios.qh
lock_file={d}/nagios.lock
temp_file={d}/nagios.tmp
temp_path={d}
check_result_path={d}/spool
state_retention_file={d}/retention.dat
retain_state_information=0
interval_length=1
max_service_check_spread=1
max_host_check_spread=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
enable_notifications=0
enable_flap_detection=0
use_syslog=0
"""

OBJECTS = """\
define command {{
  command_name check_pulse
  command_line $USER1$/pulse-sidecar check $ARG1$
}}
define command {{
  command_name pulse_true
  command_line /bin/true
}}
define timeperiod {{
  timeperiod_name always
  alias always
  sunday 00:00-24:00
  monday 00:00-24:00
  tuesday 00:00-24:00
  wednesday 00:00-24:00
  thursday 00:00-24:00
  friday 00:00-24:00
  saturday 00:00-24:00
}}
define contact {{
  contact_name nobody
  host_notifications_enabled 0
  service_notifications_enabled 0
  host_notification_period always
  service_notification_period always
  host_notification_options n
  service_notification_options n
  host_notification_commands pulse_true
  service_notification_commands pulse_true
}}
define host {{
  host_name pod
  address 127.0.0.1
  check_command pulse_true
  max_check_attempts 1
  check_period always
  contacts nobody
  notification_period always
}}
{services}
"""

SERVICE = """\
define service {{
  host_name pod
  service_description {name}
  check_command check_pulse!{args}
  max_check_attempts 1
  check_interval 1
  retry_interval 1
  check_period always
  contacts nobody
  notification_period always
}}
"""

STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def nagios_bin():
    return ph.ensure_debian_tool("nagios4-core") / "usr/sbin/nagios4"


class Nagios:
    """Nagios checking `services` = {name: "pulse-sidecar check" arguments} every second."""

    def __init__(self, services, base=None):
        import grp
        import os
        import pwd
        self.dir = ph._fresh_dir(base, "nagios")
        (self.dir / "spool").mkdir()
        d = self.dir
        user = pwd.getpwuid(os.geteuid()).pw_name
        group = grp.getgrgid(os.getegid()).gr_name
        ph._write(d / "nagios.cfg", MAIN_CFG.format(d=d, user=user, group=group))
        # $USER1$: where the plugin is, as Debian's resource.cfg names the plugins' folder
        ph._write(d / "resource.cfg", f"$USER1$={ph.sidecar_path().parent}\n")
        for name, args in services.items():
            if "!" in args or "\n" in args:
                raise ph.HarnessError(f"service {name}: '!' and newlines end a check_command")
        ph._write(d / "objects.cfg", OBJECTS.format(services="".join(
            SERVICE.format(name=name, args=args) for name, args in services.items())))
        self.proc = None

    def start(self):
        check = subprocess.run([str(nagios_bin()), "-v", str(self.dir / "nagios.cfg")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if check.returncode != 0:
            raise ph.HarnessError(f"nagios4 -v: configuration refused:\n{check.stdout}")
        self._log = open(self.dir / "stdout.log", "wb")
        self.proc = subprocess.Popen([str(nagios_bin()), str(self.dir / "nagios.cfg")],
                                     stdout=self._log, stderr=subprocess.STDOUT, cwd=self.dir)
        return self

    def services(self):
        """{service: {"state", "output", "perfdata", "last_check"}} from the status file."""
        path = self.dir / "status.dat"
        if self.proc.poll() is not None:
            raise ph.HarnessError(f"nagios exited with {self.proc.returncode}:\n"
                                  f"{ph.tail(self.dir / 'nagios.log')}")
        if not path.exists():
            return {}
        out = {}
        for block in re.findall(r"servicestatus \{\n(.*?)\n\s*\}", path.read_text(), re.S):
            fields = dict(line.strip().split("=", 1) for line in block.splitlines()
                          if "=" in line)
            if fields.get("has_been_checked") != "1":
                continue
            out[fields["service_description"]] = {
                "state": STATES[int(fields["current_state"])],
                "output": fields["plugin_output"],
                "perfdata": fields["performance_data"],
                "last_check": int(fields["last_check"]),
            }
        return out

    def results_after(self, since, names, timeout=60):
        """Each named service's first result checked after `since` (a Unix time)."""
        got = {}

        def fresh():
            for name, r in self.services().items():
                if name in names and r["last_check"] > since:
                    got[name] = r
            return all(name in got for name in names)

        ph.wait_for(fresh, timeout=timeout, interval=0.25,
                    message=f"nagios results after {since} for {sorted(names)}")
        return got

    def log(self):
        return (self.dir / "nagios.log").read_text(errors="replace")

    def stop(self):
        if self.proc is not None:
            ph.stop_process(self.proc)
            self._log.close()
            self.proc = None


def now():
    return int(time.time())


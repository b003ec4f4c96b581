"""Swarm ports between hosts, probed from the hosts themselves.

A port is only proven open when something on the far host answers on it. So on
every host a short-lived listener is started over SSH (`LISTENER`: it binds each
swarm port the engine does not hold, accepts TCP connects, answers UDP datagrams,
and exits when its SSH channel closes or after `seconds`); then on every host a
client (`CLIENT`) tries each peer's ports at once and says `open`, `refused`,
`timeout` or `error` per target. Both are Perl with core modules only:
`perl-base` (Debian's Essential set: IO::Socket::INET, IO::Select, POSIX) is on
every Debian and Ubuntu host; without Perl a port is reported unverified, never
guessed. A port the engine itself holds (an active swarm) is still tried over
TCP; over UDP nothing answers a stranger's datagram, so it stays unverified.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

#: The ports Docker Swarm needs between its nodes.
SWARM_PORTS = ("2377/tcp", "7946/tcp", "7946/udp", "4789/udp")

LISTENER = r"""
use IO::Socket::INET; use IO::Select;
$| = 1;
my ($secs, @specs) = @ARGV;
my $sel = IO::Select->new; my %tcp;
for my $s (@specs) {
  my ($port, $proto) = split m{/}, $s;
  my $sock = $proto eq 'tcp'
    ? IO::Socket::INET->new(LocalPort => $port, Proto => 'tcp', Listen => 16, ReuseAddr => 1)
    : IO::Socket::INET->new(LocalPort => $port, Proto => 'udp');
  if ($sock) { print "bound $s\n"; $sel->add($sock); $tcp{fileno $sock} = 1 if $proto eq 'tcp' }
  else { print "busy $s\n" }
}
print "ready\n";
$sel->add(\*STDIN);
my $end = time + $secs;
while ((my $left = $end - time) > 0) {
  for my $fh ($sel->can_read($left)) {
    if (fileno($fh) == 0) { my $b; exit 0 unless sysread(STDIN, $b, 64); next }
    if ($tcp{fileno $fh}) { my $c = $fh->accept; if ($c) { print $c "corral-doctor\n"; close $c } }
    else { my $b; my $peer = $fh->recv($b, 512); $fh->send("corral-doctor-ack", 0, $peer) if $peer }
  }
}
"""

CLIENT = r"""
use IO::Socket::INET; use IO::Select; use POSIX ();
$| = 1;
my ($t, @targets) = @ARGV; my @kids;
for my $tg (@targets) {
  my $pid = fork;
  if (!defined $pid) { print "$tg error\n"; next }
  if ($pid == 0) {
    my ($addr, $port, $proto) = $tg =~ m{^(.*):(\d+)/(tcp|udp)$};
    my $r = 'timeout';
    if ($proto eq 'tcp') {
      my $s = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Proto => 'tcp',
                                    Timeout => $t);
      $r = $s ? 'open' : $! =~ /refused/i ? 'refused'
         : $! =~ /timed out|in progress/i ? 'timeout' : 'error';
    } else {
      my $s = IO::Socket::INET->new(PeerAddr => $addr, PeerPort => $port, Proto => 'udp');
      if (!$s) { $r = 'error' }
      else {
        for (1 .. 3) {
          if (!$s->send("corral-doctor")) { $r = 'refused'; last }
          if (IO::Select->new($s)->can_read($t / 3)) {
            my $b;
            $r = (defined $s->recv($b, 512) && $b =~ /corral-doctor-ack/) ? 'open' : 'refused';
            last;
          }
        }
      }
    }
    print "$tg $r\n"; POSIX::_exit(0);
  }
  push @kids, $pid;
}
waitpid $_, 0 for @kids;
"""


def listener_command(seconds: int, ports: tuple[str, ...] = SWARM_PORTS) -> str:
    """The command that starts a listener for `seconds` at most."""
    return " ".join(["perl", "-e", shlex.quote(LISTENER), str(seconds), *ports])


def client_command(targets: list[str], timeout: float) -> str:
    """The command that probes `ADDR:PORT/PROTO` targets at once, `timeout` each."""
    return " ".join(["perl", "-e", shlex.quote(CLIENT), f"{timeout:g}",
                     *(shlex.quote(target) for target in targets)])


def parse_listener(lines: list[str]) -> tuple[set[str], set[str]]:
    """(ports bound by the listener, ports the host already holds) from its output."""
    bound = {line.split()[1] for line in lines if line.startswith("bound ")}
    busy = {line.split()[1] for line in lines if line.startswith("busy ")}
    return bound, busy


def parse_client(output: str) -> dict[str, str]:
    """Target -> `open` / `refused` / `timeout` / `error` from the client's output."""
    results = {}
    for line in output.splitlines():
        target, _, verdict = line.strip().rpartition(" ")
        if target:
            results[target] = verdict
    return results


@dataclass(frozen=True)
class PortVerdict:
    """One port of one host as one peer found it."""

    source: str
    port: str
    result: str  # open, refused, timeout, error, unverified

    def describe(self) -> str:
        """`7946/udp from lab1: no answer`."""
        words = {"refused": "refused (a firewall rejects it)",
                 "timeout": "no answer (filtered)", "error": "could not be tried",
                 "unverified": "unverified"}
        return f"{self.port} from {self.source}: {words.get(self.result, self.result)}"

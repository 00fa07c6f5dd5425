"""Real, independent SIP peers for tests, on 127.0.0.1 only.

    Baresip   baresip 1.0.0 headless, driven over ctrl_tcp (JSON netstrings)
    Linphonec linphonec 5.1 driven over stdin, call states read from stdout
    Callee    tests/tools/callee.c, a scripted libre callee (busy, decline,
              no answer, answer with a 440 Hz tone, digest auth, ...)

Every class starts its process in its own session and kills the whole group
on stop() (also from __exit__ and the garbage collector), and every wait has
a bound. Ports come from free_sip_port()/free_port(), which never hand out
the same port twice in one test process.

Quirks worth knowing (baresip 1.0.0):
- SIP listens on UDP+TCP `sip_port` *and* TLS on `sip_port + 1` (always;
  the binary enables TLS), so two baresips must not sit on adjacent ports:
  free_sip_port() checks and reserves both.
- The aufile audio source ends the call ("end of file", CALL_CLOSED param)
  when the WAV runs out, so the source WAV is padded with silence to
  `audio_pad` seconds. It must be 8 kHz mono 16-bit for G.711; any WAV given
  here is converted.
- sndfile records per call `dump-YYYY-MM-DD-HH-MM-SS-dec.wav` (what was
  received and decoded) and `...-enc.wav` (what was sent), named by the
  second the audio stream started: two calls starting in the same second
  overwrite each other's files.
- Incoming calls: answermode auto answers at once (no CALL_INCOMING event);
  manual rings (180) and emits CALL_INCOMING; "reject" mode here is manual
  plus an automatic `hangup`, which baresip turns into 486 "Rejected" (the
  status code cannot be chosen). Use Callee for 603/480/500.
- DTMF: `sndcode 1234#` sends RFC 4733 telephone-events (pt 101); each
  digit lasts 9 packets (180 ms) plus 3 end packets, back to back. The far
  baresip emits CALL_DTMF_START (param = digit) and CALL_DTMF_END per digit.
  No in-band or SIP INFO DTMF.
- answermode early: the caller gets CALL_PROGRESS (183 with SDP); answer()
  then makes it CALL_ESTABLISHED. Only the audio after the answer is sure
  to be in the recording.
- A account without auth_pass still answers a 401/407 challenge, with an
  empty password.
- CALL_CLOSED params: "486 Busy Here" (any final status: "<code>
  <reason>"), "Connection reset by peer" (far end sent BYE/CANCEL),
  "Connection reset by user" (our hangup), "end of file" (source WAV ran
  out).

linphonec 5.1 quirks:
- Without [rtp] bind_address=127.0.0.1 it advertises the default-route
  address in SDP (IPv6 first, even with use_ipv6=0 unless
  ipv6_migration_done=1 is set too). sip_tcp_port=-1 means *random*, 0
  disables.
- stdout is block-buffered on a pipe: run it under `stdbuf -oL`.
- A single DTMF key typed during a call is sent as RFC 4733; linphonec then
  sleeps ~1 s before reading the next line.
- `record FILE` applies to the next call and appends to an existing file,
  so this class switches to a fresh rec-N.wav whenever a call ends.
- Busy (486) ends as "Call N with URI error."; 603 as "ended (Call
  declined)"; normal hangups as "ended (No error)".
"""
import atexit
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audio  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALLEE_SRC = os.path.join(ROOT, "tests", "tools", "callee.c")

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=66",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=67",
    "LSAN_OPTIONS": "exitcode=68",
}

_reserved = set()
_reserved_lock = threading.Lock()


def _bindable(port, kinds=(socket.SOCK_STREAM, socket.SOCK_DGRAM)):
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port():
    """A loopback port free for TCP and UDP, never returned twice."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with _reserved_lock:
            if port in _reserved or not _bindable(port):
                continue
            _reserved.add(port)
            return port
    raise RuntimeError("no free port")


def free_sip_port():
    """A port P with P and P+1 free (baresip puts TLS on P+1); both are
    reserved. Use it for every SIP listener so none lands on another's P+1."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port >= 65535:
            continue
        with _reserved_lock:
            if {port, port + 1} & _reserved:
                continue
            if not (_bindable(port) and _bindable(port + 1)):
                continue
            _reserved.update((port, port + 1))
            return port
    raise RuntimeError("no free SIP port pair")


class PeerError(RuntimeError):
    pass


# Peers must not outlive the test process, even when it is killed: each one
# gets SIGTERM when its parent dies (setpriv --pdeathsig; note this fires
# when the *thread* that started it exits, so start peers from the thread
# that uses them), and whatever is still running at exit is stopped.
_SETPRIV = shutil.which("setpriv")
_live = weakref.WeakSet()


def _guarded(cmd):
    return ([_SETPRIV, "--pdeathsig", "TERM"] if _SETPRIV else []) + cmd


@atexit.register
def _stop_all():
    for peer in list(_live):
        try:
            peer.stop(check=False) if isinstance(peer, Callee) else peer.stop()
        except Exception:
            pass


def _wait(pred, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def _kill_group(proc, term_timeout=3.0):
    """SIGTERM the process group, then SIGKILL after term_timeout."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(timeout=term_timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return proc.wait(timeout=5)


def _tail(path, n=40):
    try:
        with open(path, errors="replace") as f:
            lines = f.read().replace("\r", "\n").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def make_source_wav(path, signal_or_wav=None, pad_to=60.0, rate=audio.RATE):
    """Write the 8 kHz mono 16-bit WAV a peer plays: a numpy signal (at 8
    kHz), any WAV file path, or None (silence), padded with silence to
    `pad_to` seconds."""
    if signal_or_wav is None:
        x = np.zeros(0)
    elif isinstance(signal_or_wav, str):
        x = audio.load(signal_or_wav, rate)
    else:
        x = np.asarray(signal_or_wav, dtype=np.float64)
    tail = max(0.0, pad_to - len(x) / rate)
    audio.write_wav(path, audio.pad(x, after=tail, rate=rate), rate)
    return path


# ------------------------------------------------------------------ baresip

class Baresip:
    """baresip 1.0.0, headless, one account `user`@127.0.0.1.

    auto_answer: True ("auto"), False ("manual": 180 Ringing, CALL_INCOMING,
    then answer()/hangup()), "early" (183 with early media), or "reject"
    (manual + automatic hangup: 486 Rejected).
    audio_wav: numpy signal at 8 kHz, a WAV path (converted), or None.
    codecs: "PCMU", "PCMA" or "PCMU,PCMA" (G.711 only: the source is 8 kHz).
    """

    BIN = "baresip"

    def __init__(self, workdir, sip_port=None, user="alice", password=None,
                 auto_answer=True, audio_wav=None, codecs="PCMU", record=True,
                 ctrl_port=None, audio_pad=60.0, extra_config=""):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.sip_port = sip_port or free_sip_port()
        self.ctrl_port = ctrl_port or free_port()
        self.user = user
        self.password = password
        self.aor = "sip:%s@127.0.0.1" % user
        self.uri = "sip:%s@127.0.0.1:%d" % (user, self.sip_port)
        mode = {True: "auto", False: "manual"}.get(auto_answer, auto_answer)
        if mode not in ("auto", "manual", "early", "reject"):
            raise ValueError("auto_answer: %r" % (auto_answer,))
        self.reject_incoming = mode == "reject"
        self.answermode = "manual" if mode == "reject" else mode
        self.codecs = codecs
        self.record = record
        self.rec_dir = os.path.join(self.workdir, "rec")
        self.log_path = os.path.join(self.workdir, "baresip.log")
        self.source_wav = make_source_wav(os.path.join(self.workdir, "source.wav"),
                                          audio_wav, audio_pad)
        self.proc = None
        self.sock = None
        self._events = []
        self._cursor = 0
        self._responses = {}
        self._cond = threading.Condition()
        self._token = 0
        self._send_lock = threading.Lock()
        self._reader = None
        self._write_config(extra_config)

    # -- setup

    def _write_config(self, extra):
        os.makedirs(self.rec_dir, exist_ok=True)
        modules = ["g711.so", "aufile.so", "alsa.so", "ctrl_tcp.so"]
        if self.record:
            modules.append("sndfile.so")
        lines = [
            "poll_method\t\tepoll",
            "sip_listen\t\t127.0.0.1:%d" % self.sip_port,
            "net_interface\t\t127.0.0.1",
            "call_local_timeout\t120",
            "call_max_calls\t\t4",
            "audio_player\t\talsa,null",
            "audio_alert\t\talsa,null",
            "audio_source\t\taufile,%s" % self.source_wav,
            "audio_path\t\t/usr/share/baresip",
            "rtp_ports\t\t20000-40000",
            "rtp_stats\t\tyes",
            "jitter_buffer_delay\t5-10",
            "module_path\t\t/usr/lib/baresip/modules",
        ]
        lines += ["module\t\t\t%s" % m for m in modules]
        lines += [
            "module_tmp\t\taccount.so",
            "module_app\t\tmenu.so",
            "snd_path\t\t%s" % self.rec_dir,
            "ctrl_tcp_listen\t\t127.0.0.1:%d" % self.ctrl_port,
        ]
        with open(os.path.join(self.workdir, "config"), "w") as f:
            f.write("\n".join(lines) + "\n" + extra)
        acc = "<%s>;regint=0;answermode=%s;audio_codecs=%s" % (
            self.aor, self.answermode, self.codecs)
        if self.password is not None:
            acc += ";auth_pass=%s" % self.password
        with open(os.path.join(self.workdir, "accounts"), "w") as f:
            f.write(acc + "\n")

    def start(self, timeout=5.0):
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(_guarded([self.BIN, "-f", self.workdir]),
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT,
                                         start_new_session=True)
        finally:
            log.close()
        _live.add(self)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise PeerError("baresip exited %s:\n%s" % (self.proc.returncode,
                                                             _tail(self.log_path)))
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.ctrl_port),
                                                     timeout=1)
                break
            except OSError:
                if time.monotonic() >= deadline:
                    self.stop()
                    raise PeerError("baresip ctrl_tcp not reachable:\n%s"
                                    % _tail(self.log_path))
                time.sleep(0.05)
        self.sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        # a round trip proves the UA and its modules are loaded
        self.command("uafind", self.aor)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass

    # -- ctrl_tcp

    def _read_loop(self):
        buf = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while True:
                    m = re.match(rb"(\d+):", buf)
                    if not m:
                        break
                    n, start = int(m.group(1)), m.end()
                    if len(buf) < start + n + 1:
                        break
                    body = buf[start:start + n]
                    buf = buf[start + n + 1:]
                    try:
                        msg = json.loads(body.decode("utf-8", "replace"))
                    except ValueError:
                        continue
                    self._dispatch(msg)
        except OSError:
            pass
        with self._cond:
            self._cond.notify_all()

    def _dispatch(self, msg):
        with self._cond:
            if msg.get("response"):
                self._responses[msg.get("token")] = msg
            elif msg.get("event"):
                msg["t"] = time.time()
                self._events.append(msg)
                if self.reject_incoming and msg.get("type") == "CALL_INCOMING":
                    self._send("hangup", None, "auto-reject")
            self._cond.notify_all()

    def _send(self, command, params, token):
        body = {"command": command, "token": token}
        if params is not None:
            body["params"] = params
        data = json.dumps(body).encode()
        with self._send_lock:
            self.sock.sendall(b"%d:%s," % (len(data), data))

    def command(self, command, params=None, timeout=5.0):
        """Run a baresip command (the long name, as typed after '/'); returns
        its printed output. Raises PeerError when baresip reports failure."""
        if self.sock is None:
            raise PeerError("baresip not started")
        with self._cond:
            self._token += 1
            token = "t%d" % self._token
        self._send(command, params, token)
        with self._cond:
            ok = self._cond.wait_for(lambda: token in self._responses or
                                     self.proc.poll() is not None, timeout)
            resp = self._responses.pop(token, None)
        if not ok or resp is None:
            raise PeerError("baresip: no response to %s %s:\n%s" % (
                command, params or "", _tail(self.log_path)))
        if not resp.get("ok"):
            raise PeerError("baresip: %s %s failed: %s" % (command, params or "",
                                                          resp.get("data")))
        return resp.get("data", "")

    def dial(self, uri):
        return self.command("dial", uri)

    def hangup(self):
        """Hang up the current call (BYE, CANCEL when still ringing out, or
        486 Rejected when it is an unanswered incoming call)."""
        return self.command("hangup")

    def answer(self):
        return self.command("accept")

    def send_dtmf(self, digits):
        """Queue RFC 4733 DTMF for the current call (~240 ms per digit)."""
        return self.command("sndcode", digits)

    def set_answermode(self, mode):
        """"manual", "early" or "auto" for the next incoming calls."""
        return self.command("answermode", mode)

    # -- events

    def events(self, type=None):
        with self._cond:
            return [e for e in self._events if type is None or e.get("type") == type]

    def mark(self):
        """Position to pass as `since` to only see later events."""
        with self._cond:
            return len(self._events)

    def wait_event(self, type, timeout=10.0, since=None, pred=None):
        """Wait for an event of `type` (e.g. "CALL_ESTABLISHED",
        "CALL_CLOSED", "CALL_DTMF_START") at or after position `since`
        (default: after the last event returned by wait_event) and matching
        pred(event). Returns the event dict ("param" holds e.g. "486 Busy
        Here" for CALL_CLOSED, the digit for CALL_DTMF_START)."""
        found = []

        def match():
            start = self._cursor if since is None else since
            for i in range(start, len(self._events)):
                e = self._events[i]
                if e.get("type") == type and (pred is None or pred(e)):
                    found.append(i)
                    return True
            return False

        with self._cond:
            self._cond.wait_for(lambda: match() or self.proc.poll() is not None,
                                timeout)
            if not found:
                seen = [(e.get("type"), e.get("param")) for e in self._events]
                raise PeerError("baresip %s: no %s within %.1fs; events: %s\nlog:\n%s"
                                % (self.user, type, timeout, seen, _tail(self.log_path)))
            self._cursor = found[0] + 1
            return self._events[found[0]]

    def dtmf_received(self):
        """Digits of all CALL_DTMF_START events so far, in order."""
        return "".join(e.get("param", "") for e in self.events("CALL_DTMF_START"))

    # -- recordings

    def recorded_wavs(self):
        """[(dec_path, enc_path)] per recorded call, oldest first: dec is
        what baresip received (decoded), enc what it sent."""
        decs = sorted(glob.glob(os.path.join(self.rec_dir, "dump-*-dec.wav")))
        return [(d, d[:-len("dec.wav")] + "enc.wav") for d in decs]

    def received_audio(self, index=-1, wait=2.0):
        """The decoded received audio of a recorded call at 8 kHz (waits up
        to `wait` s for the file to appear)."""
        if not _wait(self.recorded_wavs, wait):
            raise PeerError("baresip %s recorded nothing" % self.user)
        return audio.load(self.recorded_wavs()[index][0])

    def sent_audio(self, index=-1):
        return audio.load(self.recorded_wavs()[index][1])

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- stop

    def stop(self, timeout=3.0):
        """SIGTERM (baresip hangs up its calls and exits), SIGKILL after
        `timeout`. Returns the exit status."""
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
        rc = _kill_group(self.proc, timeout)
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None
        self.sock = None
        return rc


# ---------------------------------------------------------------- linphonec

class Linphonec:
    """linphonec (liblinphone 5.1) on 127.0.0.1:sip_port, UDP only, sound
    from/to WAV files ("soundcard use files"), codecs PCMU and PCMA.

    Call states come from its stdout ("Call 1 with sip:... connected.").
    The RTP address is forced to 127.0.0.1 with [rtp] bind_address (without
    it linphone advertises the default-route address, IPv6 first).
    """

    BIN = "linphonec"

    STATES = {
        "incoming": re.compile(r"Receiving new incoming call from (\S+), assigned id (\d+)"),
        "progress": re.compile(r"Call (\d+) to (\S+) in progress"),
        "ringing": re.compile(r"Call (\d+) to (\S+) ringing"),
        "early": re.compile(r"Call (\d+) .*early media"),
        "connected": re.compile(r"Call (\d+) with (\S+) connected"),
        "media": re.compile(r"Media streams established with (\S+) for call (\d+)"),
        "ended": re.compile(r"Call (\d+) with (\S+) ended \((.*)\)"),
        "error": re.compile(r"Call (\d+) with (\S+) error"),
        "declined": re.compile(r"Call (\d+) .*declined"),
    }

    def __init__(self, workdir, sip_port=None, user="lin", auto_answer=True,
                 audio_wav=None, audio_pad=60.0, codecs=("PCMU", "PCMA")):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(os.path.join(self.workdir, ".local", "share", "linphone"),
                    exist_ok=True)
        self.sip_port = sip_port or free_sip_port()
        self.user = user
        self.uri = "sip:%s@127.0.0.1:%d" % (user, self.sip_port)
        self.auto_answer = auto_answer
        self.rc = os.path.join(self.workdir, "linphonerc")
        self.log_path = os.path.join(self.workdir, "linphone.log")
        self.source_wav = make_source_wav(os.path.join(self.workdir, "source.wav"),
                                          audio_wav, audio_pad)
        self.record_path = None
        self._records = []
        self.proc = None
        self._lines = []
        self._cursor = 0
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._reader = None
        rtp = 41000 + (self.sip_port % 200) * 100
        self._write_rc(codecs, rtp)

    def _write_rc(self, codecs, rtp):
        rc = [
            "[sip]", "sip_port=%d" % self.sip_port, "sip_tcp_port=0",
            "sip_tls_port=0", "bind_address=127.0.0.1", "ipv6_migration_done=1",
            "use_ipv6=0", "contact=sip:%s@127.0.0.1" % self.user,
            "guess_hostname=0", "default_proxy=-1", "inc_timeout=60",
            "[rtp]", "bind_address=127.0.0.1",
            "audio_rtp_port=%d-%d" % (rtp, rtp + 99),
            "[sound]", "echocancellation=0",
            "[video]", "enabled=0", "display=0", "capture=0",
        ]
        for i, c in enumerate(codecs):
            rc += ["[audio_codec_%d]" % i, "mime=%s" % c, "rate=8000",
                   "channels=1", "enabled=1"]
        with open(self.rc, "w") as f:
            f.write("\n".join(rc) + "\n")

    def start(self, timeout=5.0):
        env = dict(os.environ, HOME=self.workdir)
        cmd = ["stdbuf", "-oL", self.BIN, "-c", self.rc, "-d", "6", "-l", self.log_path]
        if self.auto_answer:
            cmd.insert(3, "-a")
        self.proc = subprocess.Popen(_guarded(cmd), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, text=True,
                                     bufsize=1, errors="replace",
                                     start_new_session=True)
        _live.add(self)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        self.send("soundcard use files")
        self.wait_line("Using wav files", timeout)
        self.send("play %s" % self.source_wav)
        self._next_record()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass

    def _read_loop(self):
        for line in self.proc.stdout:
            # the prompt is printed without a newline before the next output
            line = line.rstrip("\n").replace("linphonec> ", "")
            if self.STATES["ended"].search(line) or self.STATES["error"].search(line):
                # before anyone sees the end: the next call records afresh
                try:
                    self._next_record()
                except (PeerError, OSError, ValueError):
                    pass
            with self._cond:
                self._lines.append((time.time(), line))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def send(self, line):
        """Type a line into linphonec: a command, or during a call a single
        DTMF key ("0"-"9", "*", "#", "A"-"D"), which it sends as RFC 4733."""
        if self.proc is None or self.proc.poll() is not None:
            raise PeerError("linphonec not running:\n%s" % self.output())
        with self._send_lock:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()

    def _next_record(self):
        """linphone records the far end of the next call into the file set
        with `record` (appending if it exists), so every call gets its own
        rec-N.wav: set at start and again whenever a call ends."""
        path = os.path.join(self.workdir, "rec-%d.wav" % len(self._records))
        self.send("record %s" % path)
        with self._cond:
            self._records.append(path)
            self.record_path = path

    def recordings(self):
        """Recording paths of the calls that ended, oldest first (a call that
        failed before media leaves a path that does not exist)."""
        with self._cond:
            return list(self._records[:-1])

    def call(self, uri):
        self.send("call %s" % uri)

    def answer(self):
        self.send("answer")

    def terminate(self):
        self.send("terminate")

    def lines(self):
        with self._cond:
            return [line for _, line in self._lines]

    def output(self):
        return "\n".join(self.lines())

    def wait_line(self, pattern, timeout=10.0, since=None):
        """Wait for a stdout line matching regex `pattern` (searched at or
        after line `since`, default after the last match); returns the
        re.Match."""
        rx = re.compile(pattern)
        found = []

        def match():
            start = self._cursor if since is None else since
            for i in range(start, len(self._lines)):
                m = rx.search(self._lines[i][1])
                if m:
                    found.append((i, m))
                    return True
            return self.proc.poll() is not None

        with self._cond:
            self._cond.wait_for(match, timeout)
            if not found:
                raise PeerError("linphonec: no line /%s/ within %.1fs; output:\n%s"
                                % (pattern, timeout, "\n".join(
                                    line for _, line in self._lines[-30:])))
            self._cursor = found[0][0] + 1
            return found[0][1]

    def wait_state(self, state, timeout=10.0, since=None):
        """Wait for a call state: incoming, progress, ringing, connected,
        media, ended, error, declined."""
        return self.wait_line(self.STATES[state].pattern, timeout, since)

    def mark(self):
        with self._cond:
            return len(self._lines)

    def received_audio(self, index=-1, wait=2.0):
        """What the far end sent in an ended call (default: the last), at
        8 kHz. Wait for the "ended" state first."""
        recs = self.recordings()
        if not recs:
            raise PeerError("linphonec: no call has ended yet")
        path = recs[index]
        if not _wait(lambda: os.path.exists(path) and os.path.getsize(path) > 44, wait):
            raise PeerError("linphonec recorded nothing at %s" % path)
        return audio.load(path)

    def stop(self, timeout=3.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=timeout)
            except (PeerError, OSError, subprocess.TimeoutExpired):
                pass
        rc = _kill_group(self.proc, timeout)
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        return rc


# ------------------------------------------------------------------- callee

def callee_binary():
    """Path of the callee tool: $PARLEY_CALLEE, else build/asan/tools/callee
    when newer than its source, else a private ASan build in the temp dir
    (keyed by the source's hash, so it is rebuilt only when it changes)."""
    env = os.environ.get("PARLEY_CALLEE")
    if env:
        return env
    build = os.environ.get("PARLEY_BUILD", os.path.join(ROOT, "build"))
    made = os.path.join(build, "asan", "tools", "callee")
    if os.path.exists(made) and os.path.getmtime(made) >= os.path.getmtime(CALLEE_SRC):
        return made
    with open(CALLEE_SRC, "rb") as f:
        digest = hashlib.sha1(f.read()).hexdigest()[:12]
    out_dir = os.path.join(tempfile.gettempdir(), "parley-callee-%d-%s" % (os.getuid(), digest))
    out = os.path.join(out_dir, "callee")
    if os.path.exists(out):
        return out
    os.makedirs(out_dir, exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libre", "librem"],
                           check=True, capture_output=True, text=True).stdout.split()
    tmp = out + ".%d" % os.getpid()
    cmd = ["gcc", "-std=c11", "-D_GNU_SOURCE", "-DHAVE_INTTYPES_H", "-Wall", "-Wextra",
           "-Werror", "-Wshadow", "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wvla",
           "-Wno-unused-parameter", "-O1", "-g", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", CALLEE_SRC,
           *flags, "-lm", "-o", tmp]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise PeerError("building callee failed:\n%s" % r.stderr)
    os.replace(tmp, out)
    return out


class Callee:
    """The scripted libre callee (tests/tools/callee.c) on 127.0.0.1:sip_port.
    Dial sip:<behaviour>@127.0.0.1:<port>: busy*, decline*/reject*,
    unavail*, fail*, noanswer*, voicemail*, anything else answers with a
    440 Hz tone; "hangupN" / "ringN" in the user part modify it. Its JSON
    event lines are in events()."""

    def __init__(self, workdir, sip_port=None, user=None, password=None,
                 record=True, ring_ms=None, www_auth=False, binary=None):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.sip_port = sip_port or free_sip_port()
        self.rec_dir = os.path.join(self.workdir, "callee-rec") if record else None
        self.args = ["--listen", "127.0.0.1:%d" % self.sip_port]
        if user is not None:
            self.args += ["--user", user, "--password", password]
        if www_auth:
            self.args.append("--www-auth")
        if self.rec_dir:
            os.makedirs(self.rec_dir, exist_ok=True)
            self.args += ["--record", self.rec_dir]
        if ring_ms is not None:
            self.args += ["--ring-ms", str(ring_ms)]
        self.binary = binary or callee_binary()
        self.stderr_path = os.path.join(self.workdir, "callee.stderr")
        self.proc = None
        self._events = []
        self._cursor = 0
        self._cond = threading.Condition()
        self._reader = None
        self.returncode = None

    def uri(self, behaviour):
        return "sip:%s@127.0.0.1:%d" % (behaviour, self.sip_port)

    def start(self, timeout=5.0):
        err = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(_guarded([self.binary] + self.args),
                                         stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=err,
                                         env=dict(os.environ, **SAN_ENV), text=True,
                                         bufsize=1, start_new_session=True)
        finally:
            err.close()
        _live.add(self)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        try:
            self.wait_event("listening", timeout)
        except PeerError:
            self.stop(check=False)
            raise
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)

    def __del__(self):
        try:
            self.stop(check=False)
        except Exception:
            pass

    def _read_loop(self):
        for line in self.proc.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"event": "garbage", "line": line.rstrip("\n")}
            with self._cond:
                self._events.append(ev)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def events(self, event=None, user=None):
        """Event dicts so far, optionally of one kind and dialled user."""
        with self._cond:
            if event is None:
                return [e for e in self._events if user is None or e.get("user") == user]
            return self._match(event, user)

    def count(self, event, user=None):
        return len(self.events(event, user))

    def wait_count(self, event, n, user=None, timeout=5.0):
        """Wait until at least n `event` lines (for `user`) arrived; returns
        them all. Lines reach us through a pipe and a thread, so check
        counts with this rather than events() right after a SIP event."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self._match(event, user)) >= n or
                                     self.proc.poll() is not None, timeout)
            got = self._match(event, user)
        if not ok or len(got) < n:
            raise PeerError("callee: %d of %d %s events within %.1fs: %s"
                            % (len(got), n, event, timeout, self._events[-20:]))
        return got

    def _match(self, event, user):
        return [e for e in self._events if e.get("event") == event and
                (user is None or e.get("user") == user)]

    def wait_event(self, event, timeout=10.0, since=None, pred=None):
        found = []

        def match():
            start = self._cursor if since is None else since
            for i in range(start, len(self._events)):
                e = self._events[i]
                if e.get("event") == event and (pred is None or pred(e)):
                    found.append(i)
                    return True
            return self.proc.poll() is not None

        with self._cond:
            self._cond.wait_for(match, timeout)
            if not found:
                raise PeerError("callee: no %s event within %.1fs; events: %s; stderr:\n%s"
                                % (event, timeout, self._events[-20:],
                                   _tail(self.stderr_path)))
            self._cursor = found[0] + 1
            return self._events[found[0]]

    def mark(self):
        with self._cond:
            return len(self._events)

    def recording(self, callid):
        """Path of the WAV the callee recorded for a call (what it received)."""
        safe = re.sub(r"[^A-Za-z0-9.-]", "_", callid)[:199]
        return os.path.join(self.rec_dir, safe + ".wav")

    def stop(self, check=True, timeout=3.0):
        """SIGTERM: the callee hangs up its calls and exits 0. With check,
        raise if it did not exit 0 or a sanitizer reported anything."""
        if self.proc is None:
            return self.returncode
        rc = _kill_group(self.proc, timeout)
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None
        try:
            self.proc.stdout.close()
        except (OSError, ValueError):
            pass
        self.returncode = rc
        stderr = _tail(self.stderr_path, 60)
        if check and (rc != 0 or "Sanitizer" in stderr or "runtime error" in stderr):
            raise PeerError("callee exited %s:\n%s" % (rc, stderr))
        return rc

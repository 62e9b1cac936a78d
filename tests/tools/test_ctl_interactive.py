#!/usr/bin/env python3
"""glournetctl's prompt on a pseudo-terminal, against the fake daemon
(fake_ctl_daemon.py): started without a command on a terminal it prompts;
Tab completes a command's words (listing them when several fit) and its
options and their values from the daemon's table; the up arrow brings
back the last line (history, saved to $GLOURNETCTL_HISTORY); a streamed
answer (show clients) prints its table; a destructive command asks, and
"n" does nothing while "y" does it; Ctrl-C stops a watch and the prompt
comes back; Ctrl-D leaves with exit code 0.

    test_ctl_interactive.py GLOURNETCTL
"""

import os
import pty
import select
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = b"glournet> "


class Term:
    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(argv[0], argv, env)
        self.out = b""

    def expect(self, what, timeout=5.0):
        """Reads until `what` appears after what was matched before."""
        end = time.time() + timeout
        while what not in self.out:
            left = end - time.time()
            if left <= 0:
                raise AssertionError(f"no {what!r} in {self.out[-600:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"EOF before {what!r}: {self.out[-600:]!r}")
                self.out += data
        seen, self.out = self.out.split(what, 1)
        return seen

    def answer(self):
        """What a command printed: up to the next prompt, its echo left out."""
        seen = self.expect(PROMPT)
        return seen.split(b"\n", 1)[1] if b"\n" in seen else b""

    def send(self, text):
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def wait(self, timeout=5.0, again=None):
        """Its exit code; `again` is sent once more each second it has not
        exited (a key that came while the terminal changed modes can be
        lost); killed and a failure after `timeout`."""
        end = time.time() + timeout
        while True:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            if time.time() > end:
                os.kill(self.pid, 9)
                os.waitpid(self.pid, 0)
                raise AssertionError(f"still running after {timeout} s: {self.out[-600:]!r}")
            r, _, _ = select.select([self.fd], [], [], 1.0)
            if r:
                try:
                    self.out += os.read(self.fd, 4096)
                except OSError:
                    pass
            elif again is not None:
                self.send(again)


def main():
    ctl = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp()
    sock = os.path.join(tmp, "ctl.sock")
    fake = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_ctl_daemon.py"),
                             sock, "--lifetime", "60"], stdout=subprocess.PIPE)
    try:
        assert fake.stdout.readline().strip() == b"ready"
        hist = os.path.join(tmp, "history")
        env = dict(os.environ, TERM="xterm", GLOURNETCTL_HISTORY=hist, HOME=tmp)
        t = Term([ctl, "-s", sock], env)
        t.expect(b"Tab completes")
        t.expect(PROMPT)

        # Two commands fit "show stat": both listed, the line kept.
        t.send("show stat\t")
        listed = t.expect(PROMPT)
        assert b"status" in listed and b"stats" in listed, listed
        t.send("u\t\r")  # "show statu" + Tab: "show status "
        out = t.expect(PROMPT)
        assert b"clients" in out and b"version" in out, out
        print("ok: Tab lists show status/stats, completes show status; it runs")

        # History: the up arrow, then Enter, runs it again.
        t.send("\x1b[A\r")
        out = t.expect(PROMPT)
        assert b"clients" in out, out
        print("ok: the up arrow brings back show status")

        # Options and their values from the daemon's table; a stream.
        # (the screen shows the completion as cursor moves: judge by the answer)
        t.send("show clients --sta\toff\t\r")
        out = t.answer()
        # (g-1 judged by its id: a redrawn echo of the line can hold "g-1")
        assert b"g-2" in out and b"g-3" in out and b"00000000000000aa" not in out, out
        print("ok: show clients --status offline completed and streamed")

        # A destructive command asks.
        t.send("remove client g-1\r")
        t.expect(b"Proceed? [y/N] ")
        t.send("n\r")
        out = t.expect(PROMPT)
        assert b"cancelled" in out, out
        t.send("show clients --guid g-1\r")
        assert b"g-1" in t.answer()
        t.send("remove client g-1\r")
        t.expect(b"Proceed? [y/N] ")
        t.send("y\r")
        out = t.expect(PROMPT)
        assert b"g-1" in out and b"removed" in out, out
        t.send("show clients --guid g-1\r")
        out = t.answer()
        assert b"00000000000000aa" not in out and b"0 clients listed" in out, out
        print("ok: remove client asks: n keeps g-1, y removes it")

        # Ctrl-C ends a watch, not the prompt.
        t.send("watch\r")
        t.expect(b"#10")
        t.send("\x03")
        t.expect(PROMPT)
        t.send("show status\r")
        assert b"clients" in t.expect(PROMPT)
        print("ok: Ctrl-C stops a watch; the prompt goes on")

        t.send("\x04")
        code = t.wait(again="\x04")
        assert code == 0, code
        with open(hist, "rb") as f:  # libedit's file: blanks as \040
            saved = f.read().replace(b"\\040", b" ")
        assert b"show status" in saved and b"remove client g-1" in saved, saved
        print("ok: Ctrl-D leaves (exit 0); the history was saved")
    finally:
        fake.terminate()
        fake.wait()
    print("PASS")


if __name__ == "__main__":
    main()

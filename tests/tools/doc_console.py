#!/usr/bin/env python3
"""Runs a document's console blocks and checks that their output is real.

Used by integration-operations-day on docs/operations.md, so that the page
cannot rot: every command it shows is run, in order, in one bash shell, and
what it prints must still be what the page says.

The rules a page follows (check_page refuses anything else, so a command
cannot be added to the page without being run):

  - Commands live in ```console blocks only. A line there that starts with
    "$ " is a command (a trailing backslash continues it on the next line);
    the lines after it, up to the next "$ " or the block's end, are its
    output. A block tagged sh, bash, shell or zsh, or a "$ " line outside
    a console block, is an error.
  - A file the page creates is a fenced block whose first line is
    "# /ABSOLUTE/PATH" (e.g. ```yaml); it is written there, as shown,
    at that point of the page.
  - Exit status: a command must exit 0, unless the next command is
    "echo $?", whose output line then is the status it must have had
    ("echo $?" itself is not run: it shows the one before).
  - Output: every line the page shows after a command must appear in the
    command's real output, in the same order within each of its streams
    (stdout and stderr are read apart: the order between them is the
    buffering's, and the page shows them as a terminal would);
    the real output may have more lines (the page trims long output, and
    may mark it with a "..." line, which is not compared). Lines compare
    after masking what differs from run to run: ids (words of 8 hex
    digits or more), then every number (times, dates, counters: 0, 1.5, 2e-05),
    and with runs of blanks as one (column widths follow the numbers).
    So the words, keys and shape are checked, and a value is documented
    as a real run printed it.

Paths and names of the page (/etc/glournet, port 8080, the lab's tag...)
are mapped to the test's own with --map FROM=TO, applied to commands and
files before they run (in the order given) and backwards on their output
before it is compared.

  doc_console.py list PAGE              the commands, one a line
  doc_console.py run PAGE --out DIR [--map FROM=TO]... [--timeout S]
      runs them (cwd: the current directory) and checks; exit 0 when all
      hold, 1 with one line per failure (2: the page breaks the rules).
  doc_console.py show PAGE --out DIR [--map FROM=TO]...
      after a run: each command as the page has it, then what it really
      printed (mapped back) and its status: what to paste into the page.
"""
import argparse
import os
import re
import signal
import subprocess
import sys

SHELL_TAGS = {"sh", "bash", "shell", "zsh"}


class PageError(Exception):
    pass


def parse(text):
    """The page's steps, in order: ("cmd", line, command, [output lines])
    and ("file", line, path, content). Raises PageError on a rule broken."""
    steps = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", line)
        if not fence:
            if line.startswith("$ "):
                raise PageError(f"line {i + 1}: a command outside a console block")
            i += 1
            continue
        marker, tag = fence.group(2), fence.group(3).lower()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(marker[:3]):
            j += 1
        if j == len(lines):
            raise PageError(f"line {i + 1}: a block that does not end")
        body = lines[start:j]
        if tag in SHELL_TAGS:
            raise PageError(f"line {i + 1}: a ```{tag} block: commands go in ```console "
                            "blocks, where they are run")
        if tag == "console":
            steps += parse_console(body, start + 1)
        elif body and re.match(r"^# (/\S+)$", body[0]):
            steps.append(("file", start + 1, body[0][2:], "\n".join(body[1:]) + "\n"))
        elif any(b.startswith("$ ") for b in body):
            raise PageError(f"line {i + 1}: commands in a block not tagged console")
        i = j + 1
    return steps


def parse_console(body, first_line):
    steps = []
    k = 0
    if body and not body[0].startswith("$ "):
        raise PageError(f"line {first_line}: a console block starts with a command")
    while k < len(body):
        line_no = first_line + k
        cmd = body[k][2:]
        k += 1
        while cmd.endswith("\\") and k < len(body):
            cmd = cmd + "\n" + body[k]
            k += 1
        out = []
        while k < len(body) and not body[k].startswith("$ "):
            out.append(body[k])
            k += 1
        steps.append(("cmd", line_no, cmd, out))
    return steps


def is_status_echo(cmd):
    return cmd.strip() == "echo $?"


def check_page(steps):
    """The exit-status rule is checkable before running: echo $? shows one
    number, and never comes first."""
    prev = None
    for kind, line, what, out in steps:
        if kind == "cmd" and is_status_echo(what):
            shown = [o for o in out if o.strip()]
            if prev is None or len(shown) != 1 or not shown[0].strip().isdigit():
                raise PageError(f"line {line}: echo $? must follow a command and show "
                                "its status, one number")
        prev = kind if kind == "cmd" else None


# An id: a word of 8 hex digits or more (not a decimal's fraction); a
# timestamp of 10 digits is one too, consistently.
HEX = re.compile(r"(?<![\w.])[0-9a-f]{8,}(?![\w.])")
NUM = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def mask(line):
    line = HEX.sub("<id>", line)
    line = NUM.sub("N", line)
    return " ".join(line.split())


def apply_map(text, pairs, backwards=False):
    for a, b in (reversed(pairs) if backwards else pairs):
        text = text.replace(b, a) if backwards else text.replace(a, b)
    return text


def heredoc(content):
    tag = "GLOURNET_DOC_EOF"
    while tag in content:
        tag += "_"
    return tag


def script_of(steps, pairs, out):
    """One bash script: each step's output to OUT/N.out, its status to
    OUT/N.rc. Commands run in this one shell, so variables, functions
    (a sourced tools/lab-net.sh) and background jobs (%1) carry on."""
    s = ["set +e", "exec </dev/null"]
    for n, (kind, line, what, _) in enumerate(steps):
        # The status the page says it has: stop at the first other one
        # (what comes after would wait for what did not happen).
        nxt = steps[n + 1] if n + 1 < len(steps) else None
        want = "0"
        if nxt and nxt[0] == "cmd" and is_status_echo(nxt[2]):
            want = [o for o in nxt[3] if o.strip()][0].strip()
        if kind == "file":
            path = apply_map(what, pairs)
            content = apply_map(_, pairs)
            tag = heredoc(content)
            s.append(f"mkdir -p \"$(dirname '{path}')\" && cat >'{path}' <<'{tag}'\n"
                     f"{content}{tag}")
            s.append(f"rc=$?; echo $rc >{out}/{n}.rc; [ $rc = 0 ] || exit 0")
        elif is_status_echo(what):
            continue
        else:
            s.append(f"echo '== {n}: page line {line}' >&2")
            s.append(f"{{\n{apply_map(what, pairs)}\n}} >{out}/{n}.out 2>{out}/{n}.err")
            s.append(f"rc=$?; echo $rc >{out}/{n}.rc; [ $rc = {want} ] || exit 0")
    s.append("exit 0")
    return "\n".join(s) + "\n"


def read_output(path, pairs):
    with open(path, errors="replace") as f:
        return apply_map(f.read(), pairs, backwards=True).split("\n")


def compare(steps, pairs, out):
    failures = []
    rc_before = None
    for n, (kind, line, what, shown) in enumerate(steps):
        if kind == "cmd" and is_status_echo(what):
            want = [o for o in shown if o.strip()][0].strip()
            if rc_before is not None and str(rc_before) != want:
                failures.append(f"line {line}: the command before exited {rc_before}, the page says {want}")
            rc_before = None
            continue
        if rc_before not in (None, 0):
            failures.append(f"line {steps[n - 1][1]}: `{steps[n - 1][2]}` exited {rc_before} "
                            "and the page shows no echo $? for it")
        try:
            with open(f"{out}/{n}.rc") as f:
                rc_before = int(f.read().strip())
        except (OSError, ValueError):
            if not failures:
                failures.append(f"line {line}: not run (the run stopped before it)")
            rc_before = None
            break
        if kind == "file":
            if rc_before != 0:
                failures.append(f"line {line}: could not write {what}")
            rc_before = None
            continue
        streams = [read_output(f"{out}/{n}.{ext}", pairs) for ext in ("out", "err")]
        masked = [[mask(r) for r in st] for st in streams]
        at = [0, 0]
        for want in shown:
            if not want.strip() or want.strip() in ("...", "…"):
                continue
            m = mask(want)
            for k in (0, 1):
                found = next((i for i in range(at[k], len(masked[k])) if masked[k][i] == m), None)
                if found is not None:
                    at[k] = found + 1
                    break
            else:
                failures.append(f"line {line}: `{what.splitlines()[0]}` did not print "
                                f"(in this order) {want.strip()!r}; it printed:\n    "
                                + "\n    ".join((streams[0] + streams[1])[:40]))
                break
    if rc_before not in (None, 0):
        failures.append(f"line {steps[-1][1]}: `{steps[-1][2]}` exited {rc_before} "
                        "and the page shows no echo $? for it")
    return failures


def show(steps, pairs, out):
    for n, (kind, line, what, _) in enumerate(steps):
        if kind != "cmd" or is_status_echo(what):
            continue
        print(f"--- page line {line} (stdout, then stderr)")
        print(f"$ {what}")
        try:
            for ext in ("out", "err"):
                with open(f"{out}/{n}.{ext}", errors="replace") as f:
                    sys.stdout.write(apply_map(f.read(), pairs, backwards=True))
            with open(f"{out}/{n}.rc") as f:
                rc = f.read().strip()
        except OSError:
            print("(not run)")
            continue
        if rc != "0":
            print(f"$ echo $?\n{rc}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=("list", "run", "show"))
    ap.add_argument("page")
    ap.add_argument("--out")
    ap.add_argument("--map", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args(argv)
    with open(a.page) as f:
        text = f.read()
    try:
        steps = parse(text)
        check_page(steps)
    except PageError as e:
        print(f"{a.page}: {e}")
        return 2
    if a.action == "list":
        for kind, line, what, _ in steps:
            print(f"{line}: {'write ' if kind == 'file' else '$ '}{what}")
        return 0
    pairs = [tuple(m.split("=", 1)) for m in a.map]
    if a.action == "show":
        show(steps, pairs, a.out)
        return 0
    os.makedirs(a.out, exist_ok=True)
    with open(f"{a.out}/script.sh", "w") as f:
        f.write(script_of(steps, pairs, a.out))
    # Its own process group: on a timeout, the shell and what it started go.
    p = subprocess.Popen(["bash", f"{a.out}/script.sh"], start_new_session=True)
    try:
        p.wait(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        print(f"{a.page}: the commands did not end within {a.timeout:.0f} s")
    # What the page left running when it stopped early (a failed step, the
    # timeout): its collector and agents, which SIGTERM stops cleanly.
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    p.wait()
    failures = compare(steps, pairs, a.out)
    ran = sum(1 for k, _, w, _ in steps if k == "cmd" and not is_status_echo(w))
    for fl in failures:
        print(f"{a.page}:{fl}")
    if failures:
        return 1
    print(f"{a.page}: {ran} commands run, {len(steps) - ran} steps more (files, exit "
          "statuses), every output line the page shows found")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

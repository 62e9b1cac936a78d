#!/usr/bin/env python3
"""Checks that every line of glournet stays in its room (issue #10).

The rooms and who may use whom (docs/structure.md says why):

  include/glournet  the wire formats, the slot table, the log: uses nothing else
  dataplane/        hb_core (the base both planes link) and the workers/port
  control/          the control plane; glournetd = control + dataplane
  tools/*           separate programs that speak the protocol: the wire
                    formats of include/glournet, never control/ or dataplane/

Three checks:
  1. includes: every quoted #include resolves, and only into a room the
     includer may use (INCLUDE_ROOMS) -- no upward include;
  2. headers: no header includes itself round a circle;
  3. objects (given built targets): the symbols each object file uses come
     from its own target or a target below it (LINK_ROOMS) -- no upward
     link, such as a dataplane file calling a function that only the
     control library defines -- and no two object files call each other
     round a circle.

usage: check_rooms.py SRCROOT [--list] [TARGET...]
  TARGET: a built static library or executable; its objects are read
  from meson's private directory TARGET.p/ next to it.
"""
import collections
import os
import re
import shutil
import subprocess
import sys

# Directory (longest prefix wins) -> room, for the include check.
DIR_ROOMS = {
    'include/glournet': 'glournet',
    'dataplane': 'dataplane',
    'control': 'control',
    'tools/agent': 'agent',
    'tools/ctl': 'ctl',
    'tools/glournetctl.c': 'ctl',
    'tools/loadgen': 'loadgen',
}
INCLUDE_ROOMS = {
    'glournet': {'glournet'},
    'dataplane': {'glournet'},
    'control': {'control', 'glournet'},
    'agent': {'agent', 'glournet'},
    'ctl': {'ctl', 'glournet'},
    'loadgen': {'loadgen', 'glournet'},
}
# Built target -> the targets whose symbols its objects may use.
LINK_ROOMS = {
    'hb_core': {'hb_core'},
    'dataplane': {'dataplane', 'hb_core'},
    'control': {'control', 'hb_core'},
    'glournetd': {'glournetd', 'control', 'dataplane', 'hb_core'},
    'glournetctl': {'glournetctl'},
    'glournet-agent': {'glournet-agent'},
    'lg_core': {'lg_core'},
    'glournet-loadgen': {'glournet-loadgen', 'lg_core'},
}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def room_of(path):
    best = None
    for prefix, room in DIR_ROOMS.items():
        if (path == prefix or path.startswith(prefix + '/')) and \
                (best is None or len(prefix) > len(best[0])):
            best = (prefix, room)
    return best[1] if best else None


def sources(root):
    for top in ('include', 'dataplane', 'control', 'tools'):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if name.endswith(('.c', '.h')):
                    yield os.path.relpath(os.path.join(dirpath, name), root)


def resolve(root, includer, inc):
    """Where `#include "inc"` lands, as the build's -I. -Iinclude would find it."""
    for base in (os.path.dirname(includer), 'include', '.'):
        path = os.path.normpath(os.path.join(base, inc))
        if os.path.isfile(os.path.join(root, path)):
            return path
    return None


def cycles(graph):
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def check_includes(root, listing):
    errors, headers = [], collections.defaultdict(set)
    modules = collections.defaultdict(set)
    for path in sources(root):
        room = room_of(path)
        if room is None:
            continue
        with open(os.path.join(root, path), errors='replace') as f:
            for lineno, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                target = resolve(root, path, m.group(1))
                if target is None:
                    errors.append(f'{path}:{lineno}: "{m.group(1)}" is not in the tree')
                    continue
                to = room_of(target)
                if to not in INCLUDE_ROOMS[room]:
                    errors.append(f'{path}:{lineno}: upward include: {room} may not use '
                                  f'{to or target} ("{m.group(1)}")')
                if path.endswith('.h'):
                    headers[path].add(target)
                a, b = os.path.splitext(path)[0], os.path.splitext(target)[0]
                if a != b:
                    modules[a].add(b)
    for comp in cycles(headers):
        errors.append('headers include each other round a circle: ' + ' -> '.join(comp))
    if listing:
        print_edges('include', modules, str)
    return errors


def print_edges(kind, graph, show):
    for a in sorted(graph):
        for b in sorted(graph[a]):
            print(f'{kind} {show(a)} -> {show(b)}')


def target_name(path):
    name = os.path.basename(path)
    if name.startswith('lib') and name.endswith('.a'):
        name = name[3:-2]
    return name


def objects_of(root, build_target):
    """(object path, source path) for each object file of a built target."""
    build_target = os.path.abspath(build_target)
    private = build_target + '.p'
    if not os.path.isdir(private):
        sys.exit(f'check_rooms: {private}: no such directory (not a meson target?)')
    # meson names an object after its source, relative to the target's
    # directory, with '/' as '_': map them back through the source tree.
    subdir = os.path.relpath(os.path.dirname(build_target), find_build_root(build_target))
    by_mangled = {}
    for dirpath, _, names in os.walk(os.path.join(root, subdir)):
        for name in names:
            rel = os.path.relpath(os.path.join(dirpath, name), os.path.join(root, subdir))
            by_mangled[rel.replace('/', '_') + '.o'] = os.path.normpath(os.path.join(subdir, rel))
    for dirpath, _, names in os.walk(private):
        for name in sorted(names):
            if name.endswith('.o'):
                yield os.path.join(dirpath, name), by_mangled.get(name, name)


def find_build_root(path):
    d = os.path.dirname(os.path.abspath(path))
    while d != '/' and not os.path.isfile(os.path.join(d, 'build.ninja')):
        d = os.path.dirname(d)
    return d


def check_objects(root, targets, listing):
    if not shutil.which('nm'):
        print('check_rooms: nm not found: the object checks cannot run', file=sys.stderr)
        sys.exit(77)   # meson: skipped, not passed
    defined = collections.defaultdict(list)     # symbol -> [(target, source)]
    used = {}                                    # (target, source) -> {symbol}
    for t in targets:
        name = target_name(t)
        if name not in LINK_ROOMS:
            sys.exit(f'check_rooms: {t}: no room for target {name} in LINK_ROOMS')
        for obj, src in objects_of(root, t):
            out = subprocess.run(['nm', '-P', obj], capture_output=True, text=True, check=True)
            node = (name, src)
            used[node] = set()
            for line in out.stdout.splitlines():
                sym, kind = line.split()[:2]
                if kind == 'U':
                    used[node].add(sym)
                elif kind in 'TDBRCVW':
                    defined[sym].append(node)
    errors, graph = [], collections.defaultdict(set)
    for node, syms in sorted(used.items()):
        tname, src = node
        for sym in sorted(syms):
            where = defined.get(sym)
            if not where:
                continue   # libc, DPDK, ...: outside the tree
            own = [d for d in where if d[0] == tname]
            allowed = own or [d for d in where if d[0] in LINK_ROOMS[tname]]
            if not allowed:
                errors.append(f'{src} ({tname}) uses {sym} from '
                              f'{", ".join(f"{s} ({t})" for t, s in where)}: upward link')
                continue
            if allowed[0] != node:
                graph[node].add(allowed[0])
    for comp in cycles(graph):
        errors.append('objects call each other round a circle: ' +
                      ', '.join(f'{s} ({t})' for t, s in comp))
    if listing:
        print_edges('calls', graph, lambda n: f'{n[1]} ({n[0]})')
    return errors


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    root, rest = argv[1], argv[2:]
    listing = '--list' in rest
    targets = [a for a in rest if a != '--list']
    errors = check_includes(root, listing)
    if targets:
        errors += check_objects(root, targets, listing)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f'check_rooms: {len(errors)} line(s) out of their rooms', file=sys.stderr)
        return 1
    print(f'check_rooms: every include and every call in its room ({len(targets)} targets)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

"""gdb extension for Toro C++ over QEMU's own gdb stub (every vCPU a gdb thread, all stopped
together): Toro's threads, which gdb cannot see, read from the kernel's structures.

  (gdb) source tools/gdb/toro.py          # tools/toro debug loads it; installed as toro-gdb.py
  (gdb) info toro-threads                 # every core's threads: id, state, function, stack
  (gdb) toro-bt Worker                    # the backtrace of a thread that is not running,
  (gdb) toro-bt 0x4285f80                 #   by its function's name or its id (Thread*)

Where the data lives (src/sched, src/kernel): kernel::g_percpu[core].sched is the core's
CoreSched: `current`, `idle`, and `queue.head_`, a ring of sched::Thread linked by `next` that
holds every live thread of the core. A thread that is not running was switched out by
arch_switch (src/arch/x86_64/context_switch.S), which pushed rbp, rbx, r12-r15 and stored rsp in
`saved_rsp`: toro-bt loads those registers into the selected vCPU, runs `bt`, and puts the
vCPU's own registers back, so gdb's own unwinder (and `frame N` / `info locals` inside the
command's output) walks the sleeping thread's stack.
"""
import gdb

STATES = {0: "ready", 1: "sleeping", 2: "suspended", 3: "dead"}
MAX_CPUS = 256
RING_LIMIT = 100000  # a ring longer than this is corrupt: stop there


def _atomic(v):
    """The value inside a std::atomic<T> (libstdc++: _M_i, or _M_base._M_i for integral types)."""
    for path in (("_M_i",), ("_M_base", "_M_i")):
        try:
            x = v
            for field in path:
                x = x[field]
            return int(x)
        except gdb.error:
            continue
    return int(v)


def _without_parameters(name):
    """'ns::f(int, char*)' -> 'ns::f' (the last balanced parenthesis group at the end)."""
    if not name.endswith(")"):
        return name
    depth = 0
    for i in range(len(name) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(name[i], 0)
        if depth == 0:
            return name[:i]
    return name


def _symbol(addr):
    """'name+0xoff' for a code address, or hex."""
    if addr == 0:
        return "-"
    block = gdb.current_progspace().block_for_pc(addr)
    while block is not None and block.function is None:
        block = block.superblock
    if block is not None and block.function is not None:
        off = addr - int(block.start)  # the function's outermost block starts at its entry
        name = _without_parameters(block.function.print_name)
        return f"{name}+{off:#x}" if off else name
    return f"{addr:#x}"


def cores():
    """(core, CoreSched value) for every core that has a scheduler."""
    percpu = gdb.parse_and_eval("kernel::g_percpu")
    count = min(MAX_CPUS, percpu.type.sizeof // percpu[0].type.sizeof)
    for core in range(count):
        sched = percpu[core]["sched"]
        if int(sched) == 0:
            continue
        yield core, sched.dereference()


def threads():
    """(core, Thread* value, running?) for every thread of every core, the idle ones included."""
    for core, cs in cores():
        current = int(cs["current"])
        seen = set()
        t = cs["queue"]["head_"]
        n = 0
        while int(t) != 0 and int(t) not in seen and n < RING_LIMIT:
            seen.add(int(t))
            yield core, t, int(t) == current
            t = t["next"]
            n += 1
        idle = cs["idle"]
        if int(idle) != 0 and int(idle) not in seen:
            yield core, idle, int(idle) == current


def describe(t, running):
    th = t.dereference()
    if bool(th["is_idle"]):
        func = "(idle)"
    elif bool(th["is_main"]):
        func = "main"
    else:
        func = _symbol(int(th["func"]))
    state = "running" if running else STATES.get(_atomic(th["state"]), "?")
    return func, state


class InfoToroThreads(gdb.Command):
    """List Toro's threads on every core: info toro-threads"""

    def __init__(self):
        super().__init__("info toro-threads", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        print(f"{'Core':>4}  {'Thread':<18}  {'State':<9}  {'Function':<32}  Stack")
        for core, t, running in threads():
            func, state = describe(t, running)
            th = t.dereference()
            stack = int(th["stack"])
            stack_s = f"{stack:#x}+{int(th['stack_size']):#x}" if stack else "(boot stack)"
            print(f"{core:>4}  {int(t):#018x}  {state:<9}  {func:<32}  {stack_s}")


REGS = ("r15", "r14", "r13", "r12", "rbx", "rbp")


class ToroBt(gdb.Command):
    """Backtrace of a Toro thread that is not running: toro-bt FUNCTION|THREAD-ID [bt options]"""

    def __init__(self):
        super().__init__("toro-bt", gdb.COMMAND_STACK)

    def find(self, which):
        matches = []
        for core, t, running in threads():
            func, state = describe(t, running)
            if which.startswith("0x") or which.isdigit():
                if int(t) == int(which, 0):
                    return core, t, running
            elif func.split("+")[0] == which or func.split("+")[0].endswith("::" + which) or \
                    func.split("+")[0].split("::")[-1] == which:
                matches.append((core, t, running))
        if not matches:
            raise gdb.GdbError(f"toro-bt: no Toro thread {which} (info toro-threads lists them)")
        return matches[0]

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError("usage: toro-bt FUNCTION|THREAD-ID [bt options]")
        core, t, running = self.find(argv[0])
        func, state = describe(t, running)
        print(f"Toro thread {int(t):#x} on core {core} ({func}, {state})")
        if running:
            print("(it is running: its registers are its vCPU's; `info threads` shows the vCPUs)")
            gdb.execute("bt " + " ".join(argv[1:]))
            return
        inferior = gdb.selected_inferior()
        rsp = int(t.dereference()["saved_rsp"])
        words = [int.from_bytes(bytes(inferior.read_memory(rsp + 8 * i, 8)), "little") for i in range(7)]
        saved = {r: int(gdb.parse_and_eval(f"(unsigned long)${r}")) for r in REGS + ("rsp", "rip")}
        try:
            for r, v in zip(REGS, words):
                gdb.execute(f"set ${r} = {v:#x}", to_string=True)
            gdb.execute(f"set $rsp = {rsp + 56:#x}", to_string=True)
            gdb.execute(f"set $rip = {words[6]:#x}", to_string=True)
            gdb.execute("bt " + " ".join(argv[1:]))
        finally:
            for r, v in saved.items():
                gdb.execute(f"set ${r} = {v:#x}", to_string=True)
            gdb.execute("maintenance flush register-cache", to_string=True)


InfoToroThreads()
ToroBt()

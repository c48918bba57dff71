package io.pgrouter.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Child processes the harness starts, and what /proc says about them. */
final class Procs {

    private static final double CLOCK_TICKS = 100.0; // USER_HZ; 100 on every Linux this runs on

    private Procs() {
    }

    /**
     * The command prefixed with {@code setpriv --pdeathsig KILL} when available: the child is killed by the kernel
     * if the harness JVM dies without running its shutdown hooks (kill -9). The calling thread must outlive the
     * child (the main thread does).
     */
    static List<String> dieWithParent(List<String> command) {
        List<String> full = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/setpriv"))) {
            full.addAll(List.of("/usr/bin/setpriv", "--pdeathsig", "KILL"));
        }
        full.addAll(command);
        return full;
    }

    /** SIGTERM, wait, then SIGKILL; always waits for the process to be gone. */
    static void stop(Process p, long graceMs) {
        if (p == null || !p.isAlive()) return;
        p.destroy();
        try {
            if (!p.waitFor(graceMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    static double cpuSeconds(long pid) {
        try {
            return ownCpuSeconds(statFields(Files.readString(Path.of("/proc", Long.toString(pid), "stat"))));
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The fields of a /proc stat line after "pid (comm) ": state is [0], utime [11], stime [12], cutime [13], cstime [14]. */
    private static String[] statFields(String stat) {
        return stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    }

    /** utime + stime of a process or thread, in seconds. */
    private static double ownCpuSeconds(String[] f) {
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / CLOCK_TICKS;
    }

    /**
     * CPU seconds the JVM's JIT compiler threads ("C1 CompilerThread0", "C2 CompilerThread0"...) of a process have used,
     * or -1 when it has none (not a HotSpot JVM) or /proc cannot tell.
     */
    static double jitCpuSeconds(long pid) {
        double total = 0;
        boolean found = false;
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : tasks.toList()) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    if (!comm.startsWith("C1 CompilerThre") && !comm.startsWith("C2 CompilerThre")) continue;
                    total += ownCpuSeconds(statFields(stat));
                    found = true;
                } catch (IOException | RuntimeException gone) {
                    // thread ended meanwhile
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return found ? total : -1;
    }

    /** A "VmHWM"/"VmRSS" line of /proc/pid/status in MiB, or -1. */
    static double statusMiB(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | RuntimeException e) {
            // gone
        }
        return -1;
    }

    /** CPU seconds the whole machine spent busy (user, nice, system, irq, softirq, steal) since boot. */
    static double machineBusySeconds() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long busy = 0;
            for (int i : new int[] { 1, 2, 3, 6, 7, 8 }) busy += Long.parseLong(f[i]);
            return busy / CLOCK_TICKS;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * CPU seconds of a process, the children it has reaped, and its live children (with theirs): a PostgreSQL
     * postmaster and its backends, walsenders and helpers.
     */
    static double treeCpuSeconds(long pid) {
        double total = 0;
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(x -> x.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
                try {
                    String[] f = statFields(Files.readString(p.resolve("stat")));
                    long self = Long.parseLong(p.getFileName().toString());
                    long parent = Long.parseLong(f[1]);
                    if (self == pid || parent == pid) {
                        total += ownCpuSeconds(f) + (Long.parseLong(f[13]) + Long.parseLong(f[14])) / CLOCK_TICKS;
                    }
                } catch (IOException | RuntimeException gone) {
                    // exited meanwhile
                }
            }
        } catch (IOException e) {
            return -1;
        }
        return total;
    }

    /** A free TCP port on the loopback address. */
    static int freePort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}

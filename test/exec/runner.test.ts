import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { CommandFailedError, CommandTimeoutError } from "../../agent/exec/errors.js";
import { createProcessRunner, type RunResult } from "../../agent/exec/runner.js";

/** Whether a process still runs (a zombie waiting to be reaped does not count). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return false;
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] !== "Z";
}

/** Runs `script` under /bin/sh, collecting the pids it prints (`echo $!`). */
function runShell(script: string, options: { timeoutMs: number; killGraceMs?: number; signal?: AbortSignal }) {
  const runner = createProcessRunner(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {});
  const pids: number[] = [];
  let printed: () => void = () => undefined;
  const firstPid = new Promise<void>((resolve) => (printed = resolve));
  const promise = runner.run(["/bin/sh", "-c", script], {
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    onLine: (line, stream) => {
      if (stream === "stdout" && /^\d+$/.test(line)) {
        pids.push(Number(line));
        printed();
      }
    },
  });
  return { promise, pids, firstPid };
}

describe("createProcessRunner: timeouts and aborts kill the whole process group", () => {
  it("ends a command whose background child holds the pipes, with CommandTimeoutError, and kills the child", async () => {
    const { promise, pids } = runShell("sleep 30 & echo $!; sleep 30", { timeoutMs: 200 });
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect((error as CommandTimeoutError).message).toBe("/bin/sh did not finish within 200 ms");
    expect(((error as CommandTimeoutError).cause as RunResult).signal).toBe("SIGTERM");
    expect(pids).toHaveLength(1);
    await expect.poll(() => alive(pids[0]!)).toBe(false);
  });

  it("sends SIGKILL after the grace to a group that ignores SIGTERM", async () => {
    const { promise, pids } = runShell("trap '' TERM; sleep 30 & echo $!; sleep 30", { timeoutMs: 200, killGraceMs: 300 });
    const error = await promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandTimeoutError);
    expect(((error as CommandTimeoutError).cause as RunResult).signal).toBe("SIGKILL");
    await expect.poll(() => alive(pids[0]!)).toBe(false);
  });

  it("kills the group on abort and resolves with the signal", async () => {
    const controller = new AbortController();
    const { promise, pids, firstPid } = runShell("sleep 30 & echo $!; sleep 30", { timeoutMs: 60_000, signal: controller.signal });
    await firstPid;
    controller.abort();
    const result = await promise;
    expect(result).toMatchObject({ exitCode: -1, signal: "SIGTERM" });
    await expect.poll(() => alive(pids[0]!)).toBe(false);
  });

  it("kills at once a command whose signal was aborted before it started", async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await createProcessRunner().run(["/bin/sh", "-c", "sleep 30"], { timeoutMs: 60_000, signal: controller.signal });
    expect(result.signal).toBe("SIGTERM");
  });

  it("settles once the command exits even if a process it started (new session) keeps the pipes", async () => {
    // setsid puts the holder outside the group: no group kill reaches it, only the drain limit helps.
    const { promise, pids } = runShell("setsid sleep 30 & echo $!; echo done", { timeoutMs: 60_000 });
    const result = await promise;
    try {
      expect(result).toMatchObject({ exitCode: 0, signal: null });
      expect(result.stdout).toMatch(/done\n$/);
    } finally {
      for (const pid of pids) process.kill(pid, "SIGKILL");
    }
  });
});

describe("createProcessRunner: results", () => {
  const runner = createProcessRunner();

  it("streams complete lines of both streams, the last unterminated line at the end", async () => {
    const lines: string[] = [];
    const result = await runner.run(["/bin/sh", "-c", "printf 'one\\ntwo\\nthr'; printf 'ee\\n'; printf 'err1\\nerr2' >&2"], {
      timeoutMs: 10_000,
      onLine: (line, stream) => lines.push(`${stream}:${line}`),
    });
    expect(lines.filter((l) => l.startsWith("stdout:"))).toEqual(["stdout:one", "stdout:two", "stdout:three"]);
    expect(lines.filter((l) => l.startsWith("stderr:"))).toEqual(["stderr:err1", "stderr:err2"]);
    expect(result).toMatchObject({ exitCode: 0, stdout: "one\ntwo\nthree\n", stderr: "err1\nerr2" });
  });

  it("keeps only the tail of a long output, but streams every line", async () => {
    const bounded = createProcessRunner({ maxOutputBytes: 1000 });
    let count = 0;
    const result = await bounded.run(["seq", "1", "20000"], { timeoutMs: 10_000, onLine: () => void (count += 1) });
    const full = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join("");
    expect(result.stdout).toBe(full.slice(-1000));
    expect(count).toBe(20000);
  });

  it("passes input, environment and working directory", async () => {
    const result = await runner.run(["/bin/sh", "-c", 'cat; echo " $NIXBOOT_TEST_VAR $(pwd)"'], { timeoutMs: 10_000, input: "hello", env: { NIXBOOT_TEST_VAR: "set" }, cwd: "/" });
    expect(result.stdout).toBe("hello set /\n");
  });

  it("resolves with the exit status or the signal, never rejecting for them", async () => {
    await expect(runner.run(["/bin/sh", "-c", "exit 3"], { timeoutMs: 10_000 })).resolves.toMatchObject({ exitCode: 3, signal: null });
    await expect(runner.run(["/bin/sh", "-c", "kill -KILL $$"], { timeoutMs: 10_000 })).resolves.toMatchObject({ exitCode: -1, signal: "SIGKILL" });
  });

  it("rejects with CommandFailedError when the program cannot be started", async () => {
    const error = await runner.run(["/nonexistent/nixboot-no-such-program", "x"], { timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandFailedError);
    expect((error as CommandFailedError).message).toMatch(/^cannot start \/nonexistent\/nixboot-no-such-program: .*ENOENT/);
    expect((error as CommandFailedError).details).toEqual({ argv: ["/nonexistent/nixboot-no-such-program", "x"] });
  });
});

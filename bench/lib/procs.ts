/**
 * Child processes of the benchmark: pinning with taskset, start/stop, readiness, and memory
 * readings of a process from /proc/<pid>/status (VmRSS, VmHWM; the high-water mark is reset
 * through /proc/<pid>/clear_refs so each scenario gets its own peak).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

const MiB = 1024 * 1024;

/** Whether `taskset` exists and there are at least two cores to pin to. */
export function canPin(): boolean {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  if (cores < 2) return false;
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Pins this process (every thread) to a core; children inherit it unless they pin themselves. */
export function pinSelf(core: number): void {
  spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' });
}

/** The command line for `node args…`, under `taskset -c core` when pinning. */
export function nodeCommand(args: string[], core: number | undefined): [string, string[]] {
  return core === undefined ? [process.execPath, args] : ['taskset', ['-c', String(core), process.execPath, ...args]];
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Everything the child printed on stdout (bounded), e.g. the bootstrap token. */
  stdout: () => string;
}

/** Starts a server child (pinned), logs its output to a file, waits until `healthPath` answers 200. */
export async function startServer(opts: {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  core: number | undefined;
  logFile: string;
  healthPath: string;
  timeoutMs?: number;
}): Promise<Server> {
  const [cmd, args] = nodeCommand(opts.args, opts.core);
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(cmd, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    if (out.length < 64 * 1024) out += d.toString();
    log.write(d);
  });
  child.stderr!.pipe(log);
  let exited: string | undefined;
  child.on('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`${opts.name} ${exited} before it was ready; see ${opts.logFile}`);
    try {
      const res = await fetch(url + opts.healthPath);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.name} was not ready after ${opts.timeoutMs ?? 60_000} ms; see ${opts.logFile}`);
    }
    await sleep(100);
  }
  return { name: opts.name, url, child, pid: child.pid!, logFile: opts.logFile, stdout: () => out };
}

/** SIGTERM, then SIGKILL after a grace period. */
export async function stopServer(server: Server | undefined, graceMs = 10_000): Promise<void> {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const done = new Promise<void>((r) => server.child.once('exit', () => r()));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? (Number(m[1]) * 1024) / MiB : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Memory of one process, in MiB. `peakSince` resets the high-water mark when the kernel allows
 * it (clear_refs "5"); otherwise a 20 ms poll of VmRSS stands in for it.
 */
export class MemoryProbe {
  private pollMax = 0;
  private timer: NodeJS.Timeout | undefined;
  readonly canReset: boolean;
  /** Highest RSS seen over the whole run (poll and high-water marks). */
  lifetimePeak = 0;

  constructor(readonly pid: number) {
    this.canReset = this.resetHwm();
    this.timer = setInterval(() => {
      const rss = this.rss();
      if (rss !== undefined) {
        this.pollMax = Math.max(this.pollMax, rss);
        this.lifetimePeak = Math.max(this.lifetimePeak, rss);
      }
    }, 20);
    this.timer.unref();
  }

  rss(): number | undefined {
    return statusField(this.pid, 'VmRSS');
  }

  private resetHwm(): boolean {
    try {
      fs.writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  }

  /** Starts a measurement window: returns the RSS now (the baseline). */
  begin(): number {
    const rss = this.rss() ?? 0;
    if (this.canReset) this.resetHwm();
    this.pollMax = rss;
    return rss;
  }

  /** Peak RSS since begin(). */
  end(): number {
    const hwm = this.canReset ? statusField(this.pid, 'VmHWM') : undefined;
    const peak = Math.max(hwm ?? 0, this.pollMax, this.rss() ?? 0);
    this.lifetimePeak = Math.max(this.lifetimePeak, peak);
    return peak;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Children started by runNode that have not exited yet (killed when the benchmark is interrupted). */
export const running = new Set<ChildProcess>();

/** Runs a node script (optionally pinned) to completion and returns its stdout; throws on failure. */
export function runNode(args: string[], env: NodeJS.ProcessEnv, core?: number, input?: string): Promise<string> {
  const [cmd, argv] = nodeCommand(args, core);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${args.join(' ')} failed (exit ${code}):\n${err.trim() || out.trim()}`));
    });
    child.stdin.end(input ?? '');
  });
}

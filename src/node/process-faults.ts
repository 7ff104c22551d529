/**
 * Process faults: a process killed with SIGKILL (nothing runs after it: no exit handlers, no
 * flush), or paused with SIGSTOP and resumed with SIGCONT, as a host frozen by the machine or
 * a debugger would be. Its peers see it alive (connections open) but silent.
 */
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function killProcess(pid: number): void {
  process.kill(pid, 'SIGKILL');
}

/** Pauses `pid` for `ms`, then resumes it; resolves when it runs again. */
export async function pauseProcess(pid: number, ms: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  try {
    await sleep(ms);
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

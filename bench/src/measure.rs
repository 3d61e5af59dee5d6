//! A child process's wall time and peak memory, as the benchmarks report them.

use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

/// What one run of a command cost.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    pub wall: Duration,
    /// The peak resident memory of the largest process in the run: the command itself or
    /// any process it started and waited for (for `cargo build`, the biggest rustc).
    pub peak_rss_mb: f64,
}

/// Runs `command` to completion; a failure (exit status) is an error carrying its output.
pub fn run(command: &mut Command) -> io::Result<Measured> {
    let started = Instant::now();
    let child = command.spawn()?;
    let pid = libc::pid_t::try_from(child.id()).map_err(io::Error::other)?;
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; `pid` is our own child, which
    // nothing else waits for (the `Child` handle is dropped unwaited).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    drop(child);
    if waited != pid {
        return Err(io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(io::Error::other(format!(
            "{command:?} failed ({status:#x})"
        )));
    }
    // ru_maxrss is in KiB on Linux.
    Ok(Measured {
        wall,
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
    })
}

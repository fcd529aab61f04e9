//! Running Postfix's programs (postconf, postmap, postfix, systemctl...)
//! with a time limit: one hung child must never hang postform while it
//! holds the config directory's lock.
//!
//! The child gets its own process group, so that on timeout the whole
//! group is killed (`postfix check` under `script`, `postfix start`'s
//! postfix-script and the master it forks are several processes). Both
//! pipes are drained on threads while waiting, so a chatty child cannot
//! stall on a full pipe.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Environment variable: seconds a Postfix program may run (default
/// [`DEFAULT_TIMEOUT`]).
pub const TIMEOUT_ENV: &str = "POSTFORM_COMMAND_TIMEOUT";

/// How long a Postfix program may run unless [`TIMEOUT_ENV`] says
/// otherwise: `postfix start` on a loaded machine takes seconds, a hung
/// `systemctl reload` forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A child process could not be run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` did not finish within {seconds} s and was killed (set {TIMEOUT_ENV} to allow more time)")]
    TimedOut { command: String, seconds: u64 },
}

/// The time limit for one Postfix program: [`TIMEOUT_ENV`] or the default.
pub fn timeout() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// `program arg...` as one line, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        out.push(' ');
        out.push_str(&a.to_string_lossy());
    }
    out
}

/// Run `cmd` (stdin from /dev/null, both outputs captured) for at most
/// `limit`.
pub fn output(cmd: &mut Command, limit: Duration) -> Result<Output, ProcessError> {
    let command = describe(cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
        command: command.clone(),
        source,
    })?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let status = wait(&mut child, limit, &command)?;
    let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: join(stdout),
        stderr: join(stderr),
    })
}

/// [`output`] with `input` written to the child's stdin (then closed).
pub fn output_with_input(
    cmd: &mut Command,
    input: &[u8],
    limit: Duration,
) -> Result<Output, ProcessError> {
    let command = describe(cmd);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
        command: command.clone(),
        source,
    })?;
    let writer = child.stdin.take().map(|mut pipe| {
        let input = input.to_vec();
        std::thread::spawn(move || {
            use std::io::Write;
            // A child that exits without reading all of it closes the
            // pipe: not an error here, its status tells.
            let _ = pipe.write_all(&input);
        })
    });
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let status = wait(&mut child, limit, &command)?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    let join = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
        h.and_then(|h| h.join().ok()).unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: join(stdout),
        stderr: join(stderr),
    })
}

/// Wait for `child` for at most `limit`; on timeout kill its process group.
fn wait(
    child: &mut std::process::Child,
    limit: Duration,
    command: &str,
) -> Result<ExitStatus, ProcessError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if start.elapsed() >= limit => {
                kill_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                return Err(ProcessError::TimedOut {
                    command: command.to_string(),
                    seconds: limit.as_secs().max(1),
                });
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(source) => {
                return Err(ProcessError::Spawn {
                    command: command.to_string(),
                    source,
                })
            }
        }
    }
}

/// SIGKILL every process of the group `pgid` (the child made it its own
/// group), without unsafe code: through kill(1).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn drain(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Find a program: a path as given when it has a `/` (and is a file), else
/// the first executable file of that name on PATH.
pub fn which(prog: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if prog.contains('/') {
        let p = std::path::PathBuf::from(prog);
        return executable(&p).then_some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(prog))
            .find(|c| executable(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_captures() {
        let out = output(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }

    #[test]
    fn a_hung_child_and_its_children_are_killed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-survived");
        // The grandchild would write the marker after 2 s.
        let script = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let start = Instant::now();
        let e = output(
            Command::new("sh").args(["-c", &script]),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(matches!(e, ProcessError::TimedOut { .. }), "{e}");
        assert!(e.to_string().contains("did not finish within"), "{e}");
        std::thread::sleep(Duration::from_millis(2500));
        assert!(!marker.exists(), "the whole process group is killed");
    }

    #[test]
    fn input_reaches_the_child() {
        let out = output_with_input(
            Command::new("sh").args(["-c", "tr a-z A-Z"]),
            b"abc\n",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(out.stdout, b"ABC\n");
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let e = output(
            &mut Command::new("/nonexistent/postconf"),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot run `/nonexistent/postconf`"),
            "{e}"
        );
    }
}

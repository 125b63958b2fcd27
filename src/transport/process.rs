//! Running a child process: feed stdin, stream stdout/stderr lines to a reporter, capture both.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::report::{Reporter, Stream};

use super::Output;

/// Spawn `command`, write `stdin` to it, and collect its output; echo lines when asked.
pub(crate) fn run_streaming(
    mut command: Command,
    stdin: Option<Vec<u8>>,
    host: &str,
    echo: Option<&dyn Reporter>,
) -> Result<Output> {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command.spawn().map_err(|e| Error::Transport {
        host: host.to_string(),
        message: format!("cannot start `{program}`: {e}"),
        hint: (e.kind() == std::io::ErrorKind::NotFound)
            .then(|| format!("install `{program}` (e.g. `apt-get install openssh-client`)")),
    })?;
    let mut child_in = child.stdin.take();
    let out = child.stdout.take().expect("piped stdout");
    let err = child.stderr.take().expect("piped stderr");
    let (stdout, stderr) = std::thread::scope(|s| {
        let writer = s.spawn(move || {
            if let (Some(mut w), Some(data)) = (child_in.take(), stdin) {
                // A command may exit without reading its input; that is not our error.
                let _ = w.write_all(&data);
            }
        });
        let o = s.spawn(move || pump(out, host, Stream::Out, echo));
        let e = pump(err, host, Stream::Err, echo);
        let _ = writer.join();
        (o.join().unwrap_or_default(), e)
    });
    let status = child.wait()?;
    let status = status.code().unwrap_or_else(|| {
        use std::os::unix::process::ExitStatusExt;
        128 + status.signal().unwrap_or(0)
    });
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

fn pump(r: impl Read, host: &str, stream: Stream, echo: Option<&dyn Reporter>) -> Vec<u8> {
    let mut reader = BufReader::new(r);
    let mut all = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                all.extend_from_slice(&line);
                if let Some(rep) = echo {
                    let text = String::from_utf8_lossy(&line);
                    rep.line(host, stream, text.trim_end_matches(['\n', '\r']));
                }
            }
        }
    }
    all
}

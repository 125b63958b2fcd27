//! Running a child process: feed stdin (bytes, then a reader), stream stdout/stderr lines to a
//! reporter as they come (or stdout into a writer), in bounded memory.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};
use crate::report::{Reporter, Stream};

use super::{Io, Output};

/// Spawn `command`; write `stdin` then `io.stdin` to it; copy its stdout into `io.stdout` when
/// given (else capture it); capture stderr; echo captured lines when asked. A spawn failure
/// keeps its cause (`No such file or directory`) and names the program.
pub(crate) fn run_io(
    mut command: Command,
    stdin: Option<Vec<u8>>,
    io: Io<'_>,
    host: &str,
    echo: Option<&dyn Reporter>,
) -> Result<Output> {
    let feed = stdin.is_some() || io.stdin.is_some();
    command
        .stdin(if feed { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command.spawn().map_err(|e| Error::Spawn {
        host: host.to_string(),
        program: program.clone(),
        hint: (e.kind() == std::io::ErrorKind::NotFound)
            .then(|| format!("install `{program}` (e.g. `apt-get install openssh-client`)")),
        source: e,
    })?;
    let child_in = child.stdin.take();
    let out = child.stdout.take().expect("piped stdout");
    let err = child.stderr.take().expect("piped stderr");
    let (stdout, stderr, copied) = drive(child_in, out, err, stdin, io, host, echo);
    let status = child.wait()?;
    copied?;
    Ok(Output::new(status.into(), stdout, stderr))
}

/// Spawn `command` with this process's standard input, output and error (a terminal stays a
/// terminal) and wait for it: how it ended. A spawn failure keeps its cause and names the
/// program. Secrets cannot travel this way (stdin is the person's): callers pass none.
pub(crate) fn run_attached(mut command: Command, host: &str) -> Result<super::Exit> {
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command
        .stdin(Stdio::inherit())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| Error::Spawn {
            host: host.to_string(),
            program,
            hint: None,
            source: e,
        })?;
    Ok(status.into())
}

/// Feed a started command's stdin (`stdin` bytes, then `io.stdin`) and read its stdout (into
/// `io.stdout` when given, else captured) and stderr (captured), all at once, echoing captured
/// lines when asked; gives back (stdout, stderr, the copy's result). Shared by the child process
/// above and the ssh transport's sessions on the master connection.
pub(crate) fn drive(
    child_in: Option<impl Write + Send>,
    out: impl Read + Send,
    err: impl Read,
    stdin: Option<Vec<u8>>,
    io: Io<'_>,
    host: &str,
    echo: Option<&dyn Reporter>,
) -> (Vec<u8>, Vec<u8>, std::io::Result<()>) {
    let Io {
        stdin: mut reader,
        stdout: writer,
    } = io;
    std::thread::scope(|s| {
        let feeder = s.spawn(move || -> std::io::Result<()> {
            let Some(mut w) = child_in else { return Ok(()) };
            if let Some(data) = stdin {
                w.write_all(&data)?;
            }
            if let Some(r) = reader.as_mut() {
                std::io::copy(r, &mut w)?;
            }
            Ok(())
        });
        let o = s.spawn(move || match writer {
            Some(w) => {
                std::io::copy(&mut BufReader::with_capacity(256 << 10, out), w).map(|_| Vec::new())
            }
            None => Ok(pump(out, host, Stream::Out, echo)),
        });
        let e = pump(err, host, Stream::Err, echo);
        // A command may exit without reading all its input; that is not our error (its exit
        // status says what happened).
        let _ = feeder.join();
        let o = o.join().unwrap_or_else(|_| Ok(Vec::new()));
        match o {
            Ok(v) => (v, e, Ok(())),
            Err(x) => (Vec::new(), e, Err(x)),
        }
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

//! How a finished command ended: the code it exited with, or the signal that killed it.

use std::fmt;
use std::process::ExitStatus;

/// The end of a command, as the kernel reported it. A signal is never folded into a code: a
/// shell's `$?` of 137 is [`Exit::Code`]`(137)` only when the program itself exited with 137.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// It exited by itself with this code (0 is success).
    Code(i32),
    /// This signal killed it (9 is `SIGKILL`).
    Signal(i32),
}

impl Exit {
    /// Exit code 0.
    pub const SUCCESS: Exit = Exit::Code(0);

    /// True for exit code 0.
    #[must_use]
    pub fn success(self) -> bool {
        self == Exit::SUCCESS
    }

    /// The exit code, if it exited by itself.
    #[must_use]
    pub fn code(self) -> Option<i32> {
        match self {
            Exit::Code(c) => Some(c),
            Exit::Signal(_) => None,
        }
    }

    /// The signal that killed it, if one did.
    #[must_use]
    pub fn signal(self) -> Option<i32> {
        match self {
            Exit::Code(_) => None,
            Exit::Signal(s) => Some(s),
        }
    }

    /// What a POSIX shell would put in `$?`: the code, or 128 plus the signal.
    #[must_use]
    pub fn shell_status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

impl From<ExitStatus> for Exit {
    fn from(status: ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt as _;
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            // Only a stopped or continued child has neither, and `wait` never reports those
            // (no `WUNTRACED`); keep the raw wait status rather than invent a success.
            (None, None) => Exit::Code(status.into_raw()),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => match signal_name(s) {
                Some(name) => write!(f, "killed by signal {s} ({name})"),
                None => write!(f, "killed by signal {s}"),
            },
        }
    }
}

/// The symbolic name of a signal number on this platform (`SIGKILL` for 9 on Linux).
#[must_use]
pub fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGSYS => "SIGSYS",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::ExitStatus;

    use super::Exit;

    #[test]
    fn codes_and_signals_from_a_wait_status() {
        // A wait status: the code in the second byte, or the signal in the low seven bits.
        assert_eq!(Exit::from(ExitStatus::from_raw(0)), Exit::Code(0));
        assert_eq!(Exit::from(ExitStatus::from_raw(3 << 8)), Exit::Code(3));
        assert_eq!(Exit::from(ExitStatus::from_raw(137 << 8)), Exit::Code(137));
        assert_eq!(Exit::from(ExitStatus::from_raw(9)), Exit::Signal(9));
        assert_eq!(Exit::from(ExitStatus::from_raw(15)), Exit::Signal(15));
    }

    #[test]
    fn success_code_and_signal() {
        assert!(Exit::Code(0).success());
        assert!(Exit::SUCCESS.success());
        assert!(!Exit::Code(1).success());
        assert!(!Exit::Signal(9).success());
        assert_eq!(
            (Exit::Code(3).code(), Exit::Code(3).signal()),
            (Some(3), None)
        );
        assert_eq!(
            (Exit::Signal(9).code(), Exit::Signal(9).signal()),
            (None, Some(9))
        );
        assert_eq!(Exit::Code(3).shell_status(), 3);
        assert_eq!(Exit::Signal(9).shell_status(), 137);
    }

    #[test]
    fn display() {
        assert_eq!(Exit::Code(0).to_string(), "exit status 0");
        assert_eq!(Exit::Code(100).to_string(), "exit status 100");
        assert_eq!(Exit::Signal(9).to_string(), "killed by signal 9 (SIGKILL)");
        assert_eq!(
            Exit::Signal(15).to_string(),
            "killed by signal 15 (SIGTERM)"
        );
        assert_eq!(
            Exit::Signal(13).to_string(),
            "killed by signal 13 (SIGPIPE)"
        );
        // Real-time signals have no fixed name.
        assert_eq!(Exit::Signal(40).to_string(), "killed by signal 40");
    }
}

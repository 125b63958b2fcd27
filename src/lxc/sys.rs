//! dfab's own safe layer over liblxc (`lxc-sys`): an owned container handle and its calls.
//!
//! Not the `lxc` wrapper crate: a failed `clone` there returns a handle around a null pointer and
//! its `get_ips` passes a dangling pointer. Here every pointer from liblxc is null-checked, every
//! `CString` outlives the call it is passed to, and every allocation liblxc hands over is freed.
//!
//! Threads: liblxc locks per container, but a `struct lxc_container` is not safe to use from two
//! threads at once (its `error_string` and config are shared mutable state). [`Container`] holds a
//! raw pointer and so is neither `Send` nor `Sync`; code that needs a container on several threads
//! opens one handle per thread (opening is cheap: it reads one config file).

use std::ffi::{c_char, c_int, CStr, CString};
use std::os::fd::RawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::ptr::{self, NonNull};
use std::time::Duration;

use lxc_sys as ffi;

use super::error::{LxcError, Result};
use super::spec::CloneMode;

/// Where the attached program's standard streams go: raw descriptors owned by the caller, which
/// must keep them open across [`Container::attach_run_wait`].
#[derive(Debug, Clone, Copy)]
pub struct AttachStdio {
    pub stdin: RawFd,
    pub stdout: RawFd,
    pub stderr: RawFd,
}

/// One reference to a liblxc container; released (`lxc_container_put`) on drop.
#[derive(Debug)]
pub struct Container {
    ptr: NonNull<ffi::lxc_container>,
    name: String,
}

/// Fetch a method from the container's function table.
macro_rules! method {
    ($container:expr, $name:ident) => {{
        let raw = $container.raw();
        // SAFETY: `raw` is the live container this handle owns (released only in Drop); liblxc
        // fills the function table in `lxc_container_new` and never changes it. This reads one
        // field through the raw pointer without making a reference.
        let f = unsafe { (*raw).$name };
        f.expect(concat!("liblxc sets lxc_container.", stringify!($name)))
    }};
}

fn c_string(what: &str, value: &str) -> Result<CString> {
    CString::new(value).map_err(|_| {
        LxcError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what} {value:?} contains a NUL byte"),
        ))
    })
}

fn c_path(path: Option<&Path>) -> Result<Option<CString>> {
    path.map(|p| c_string("LXC path", &p.to_string_lossy()))
        .transpose()
}

fn ptr_or_null(s: Option<&CString>) -> *const c_char {
    s.map_or(ptr::null(), |s| s.as_ptr())
}

/// liblxc's default container directory (`lxc.lxcpath`, usually `/var/lib/lxc`).
#[must_use]
pub fn default_lxcpath() -> PathBuf {
    let key = c"lxc.lxcpath";
    // SAFETY: `key` is a valid NUL-terminated string; liblxc returns a pointer to its own cached
    // value (or NULL), which must not be freed and stays valid for the process.
    let value = unsafe { ffi::lxc_get_global_config_item(key.as_ptr()) };
    if value.is_null() {
        return PathBuf::from("/var/lib/lxc");
    }
    // SAFETY: non-null, NUL-terminated, owned by liblxc (see above); we copy it at once.
    let value = unsafe { CStr::from_ptr(value) };
    PathBuf::from(value.to_string_lossy().into_owned())
}

impl Container {
    /// Open a handle on container `name` under `lxcpath` (liblxc's default when `None`). The
    /// container need not exist; see [`Container::is_defined`].
    pub fn new(name: &str, lxcpath: Option<&Path>) -> Result<Self> {
        super::name::validate(name)?;
        let c_name = c_string("container name", name)?;
        let c_lxcpath = c_path(lxcpath)?;
        // SAFETY: both strings are NUL-terminated and alive for the call (liblxc copies them);
        // NULL for lxcpath means the default path.
        let raw =
            unsafe { ffi::lxc_container_new(c_name.as_ptr(), ptr_or_null(c_lxcpath.as_ref())) };
        let ptr = NonNull::new(raw).ok_or_else(|| LxcError::Op {
            name: name.to_owned(),
            op: "open",
            errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
            message: None,
        })?;
        Ok(Self {
            ptr,
            name: name.to_owned(),
        })
    }

    fn raw(&self) -> *mut ffi::lxc_container {
        self.ptr.as_ptr()
    }

    /// The container's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last error liblxc recorded on this handle, as a dfab error for operation `op`.
    fn failed(&self, op: &'static str) -> LxcError {
        let raw = self.raw();
        // SAFETY: `raw` is live (see `method!`); these are plain fields liblxc sets on failure.
        // `error_string` is NULL or a NUL-terminated string owned by the container, copied here.
        let (errno, message) = unsafe {
            let message = (*raw).error_string;
            let message = (!message.is_null())
                .then(|| CStr::from_ptr(message).to_string_lossy().into_owned());
            ((*raw).error_num, message)
        };
        LxcError::Op {
            name: self.name.clone(),
            op,
            errno,
            message,
        }
    }

    /// Whether the container has a configuration (exists).
    #[must_use]
    pub fn is_defined(&self) -> bool {
        let f = method!(self, is_defined);
        // SAFETY: `raw` is live; the call only reads the container.
        unsafe { f(self.raw()) }
    }

    /// Whether the container is running.
    #[must_use]
    pub fn is_running(&self) -> bool {
        let f = method!(self, is_running);
        // SAFETY: as for `is_defined`.
        unsafe { f(self.raw()) }
    }

    /// The container's state: `STOPPED`, `STARTING`, `RUNNING`, `STOPPING`, …
    #[must_use]
    pub fn state(&self) -> String {
        let f = method!(self, state);
        // SAFETY: `raw` is live; liblxc returns a static string (must not be freed) or NULL.
        let s = unsafe { f(self.raw()) };
        if s.is_null() {
            return "UNKNOWN".to_owned();
        }
        // SAFETY: non-null static NUL-terminated string, copied at once.
        unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned()
    }

    /// Clone this (stopped) container into `new_name` under `lxcpath`; returns the new handle.
    pub fn clone_to(
        &self,
        new_name: &str,
        lxcpath: Option<&Path>,
        mode: CloneMode,
    ) -> Result<Self> {
        super::name::validate(new_name)?;
        let c_new = c_string("container name", new_name)?;
        let c_lxcpath = c_path(lxcpath)?;
        // `overlay` is what liblxc 4+ calls the overlayfs backing store (`overlayfs` is accepted
        // as an alias by lxc-copy's `-B`).
        let (flags, bdevtype) = match mode {
            CloneMode::Snapshot => (ffi::LXC_CLONE_SNAPSHOT, Some(c"overlay")),
            CloneMode::Copy => (0, None),
        };
        let flags = c_int::try_from(flags).expect("LXC clone flags fit an int");
        let f = method!(self, clone);
        // SAFETY: `raw` is live; every string is NUL-terminated and outlives the call; NULL
        // lxcpath/bdevtype/bdevdata/hookargs mean "same as source"/"none"; newsize 0 means "same".
        let new = unsafe {
            f(
                self.raw(),
                c_new.as_ptr(),
                ptr_or_null(c_lxcpath.as_ref()),
                flags,
                bdevtype.map_or(ptr::null(), CStr::as_ptr),
                ptr::null(),
                0,
                ptr::null_mut(),
            )
        };
        let ptr = NonNull::new(new).ok_or_else(|| self.failed("clone"))?;
        Ok(Self {
            ptr,
            name: new_name.to_owned(),
        })
    }

    /// Start the container in the background with its configured init (`lxc.init.cmd`, else
    /// `/sbin/init`). Returns once liblxc's monitor has started it.
    pub fn start(&self) -> Result<()> {
        let daemonize = method!(self, want_daemonize);
        let start = method!(self, start);
        // SAFETY: `raw` is live. `want_daemonize` sets a flag. `start` with useinit 0 and a NULL
        // argv runs the configured init; it forks the monitor, and returns in this process.
        let ok = unsafe { daemonize(self.raw(), true) && start(self.raw(), 0, ptr::null()) };
        if ok {
            Ok(())
        } else {
            Err(self.failed("start"))
        }
    }

    /// Wait up to `timeout` (whole seconds, rounded up) for `state`; true when reached.
    pub fn wait(&self, state: &str, timeout: Duration) -> Result<bool> {
        let c_state = c_string("state", state)?;
        let secs = c_int::try_from(timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0))
            .unwrap_or(c_int::MAX);
        let f = method!(self, wait);
        // SAFETY: `raw` is live; `c_state` outlives the call.
        Ok(unsafe { f(self.raw(), c_state.as_ptr(), secs) })
    }

    /// The addresses on `interface` (all when `None`) of `family` (`inet`, `inet6`; all when
    /// `None`); `scope` is the IPv6 scope (0 is global). Empty when the container is not running.
    pub fn get_ips(
        &self,
        interface: Option<&str>,
        family: Option<&str>,
        scope: i32,
    ) -> Result<Vec<String>> {
        // Both CStrings live until the end of this function, past the call.
        let c_interface = interface.map(|i| c_string("interface", i)).transpose()?;
        let c_family = family.map(|f| c_string("family", f)).transpose()?;
        let f = method!(self, get_ips);
        // SAFETY: `raw` is live; the strings are NUL-terminated or NULL and outlive the call.
        let array = unsafe {
            f(
                self.raw(),
                ptr_or_null(c_interface.as_ref()),
                ptr_or_null(c_family.as_ref()),
                scope,
            )
        };
        Ok(take_string_array(array))
    }

    /// Run `argv` inside the running container and wait for it; its standard streams are the
    /// caller's descriptors in `stdio`. `env` (`KEY=value`) replaces the environment (the host's is
    /// cleared, like `lxc-attach --clear-env`). Runs as root in every namespace.
    pub fn attach_run_wait(
        &self,
        argv: &[&str],
        env: &[&str],
        stdio: AttachStdio,
    ) -> Result<ExitStatus> {
        let Some(program) = argv.first() else {
            return Err(LxcError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "attach needs a program",
            )));
        };
        let c_program = c_string("program", program)?;
        let c_argv = argv
            .iter()
            .map(|a| c_string("argument", a))
            .collect::<Result<Vec<_>>>()?;
        let mut argv_ptrs: Vec<*const c_char> = c_argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(ptr::null());
        let c_env = env
            .iter()
            .map(|e| c_string("environment entry", e))
            .collect::<Result<Vec<_>>>()?;
        // liblxc declares `extra_env_vars` as `char **` but only reads it.
        let mut env_ptrs: Vec<*mut c_char> = c_env.iter().map(|e| e.as_ptr().cast_mut()).collect();
        env_ptrs.push(ptr::null_mut());

        // LXC_ATTACH_OPTIONS_DEFAULT from attach_options.h, with the environment cleared and our
        // descriptors.
        let mut options = ffi::lxc_attach_options_t {
            attach_flags: c_int::try_from(ffi::LXC_ATTACH_DEFAULT).expect("flags fit an int"),
            namespaces: -1,
            personality: libc::c_long::from(ffi::LXC_ATTACH_DETECT_PERSONALITY),
            initial_cwd: ptr::null_mut(),
            uid: libc::uid_t::MAX,
            gid: libc::gid_t::MAX,
            env_policy: ffi::lxc_attach_env_policy_t_LXC_ATTACH_CLEAR_ENV,
            extra_env_vars: env_ptrs.as_mut_ptr(),
            extra_keep_env: ptr::null_mut(),
            stdin_fd: stdio.stdin,
            stdout_fd: stdio.stdout,
            stderr_fd: stdio.stderr,
            log_fd: -libc::EBADF,
            lsm_label: ptr::null_mut(),
            groups: ffi::lxc_groups_t {
                size: 0,
                list: ptr::null_mut(),
            },
        };
        let f = method!(self, attach_run_wait);
        // SAFETY: `raw` is live; `options`, the argv and env arrays (NULL-terminated) and the
        // strings they point to all outlive the call, which forks, runs the program and waits.
        // The descriptors are the caller's and stay open (documented on `AttachStdio`).
        let status = unsafe {
            f(
                self.raw(),
                ptr::addr_of_mut!(options),
                c_program.as_ptr(),
                argv_ptrs.as_ptr(),
            )
        };
        if status < 0 {
            return Err(self.failed("attach"));
        }
        Ok(ExitStatus::from_raw(status))
    }

    /// Kill the container at once.
    pub fn stop(&self) -> Result<()> {
        let f = method!(self, stop);
        // SAFETY: `raw` is live.
        if unsafe { f(self.raw()) } {
            Ok(())
        } else {
            Err(self.failed("stop"))
        }
    }

    /// Ask init to power off, waiting up to `timeout` (whole seconds); true when it stopped.
    #[must_use]
    pub fn shutdown(&self, timeout: Duration) -> bool {
        let secs = c_int::try_from(timeout.as_secs()).unwrap_or(c_int::MAX);
        let f = method!(self, shutdown);
        // SAFETY: `raw` is live.
        unsafe { f(self.raw(), secs) }
    }

    /// Remove the (stopped) container: configuration and root file system.
    pub fn destroy(&self) -> Result<()> {
        let f = method!(self, destroy);
        // SAFETY: `raw` is live.
        if unsafe { f(self.raw()) } {
            Ok(())
        } else {
            Err(self.failed("destroy"))
        }
    }

    /// Set one configuration item in memory (see [`Container::save_config`]).
    pub fn set_config_item(&self, key: &str, value: &str) -> Result<()> {
        let c_key = c_string("config key", key)?;
        let c_value = c_string("config value", value)?;
        let f = method!(self, set_config_item);
        // SAFETY: `raw` is live; both strings outlive the call (liblxc copies them).
        if unsafe { f(self.raw(), c_key.as_ptr(), c_value.as_ptr()) } {
            Ok(())
        } else {
            Err(self.failed("set_config_item"))
        }
    }

    /// Remove a configuration item (all its values, for list items like `lxc.net.0.ipv4.address`).
    pub fn clear_config_item(&self, key: &str) -> Result<()> {
        let c_key = c_string("config key", key)?;
        let f = method!(self, clear_config_item);
        // SAFETY: `raw` is live; the key outlives the call.
        if unsafe { f(self.raw(), c_key.as_ptr()) } {
            Ok(())
        } else {
            Err(self.failed("clear_config_item"))
        }
    }

    /// One configuration item's value, or `None` when unset or unknown.
    #[must_use]
    pub fn config_item(&self, key: &str) -> Option<String> {
        let c_key = c_string("config key", key).ok()?;
        let f = method!(self, get_config_item);
        // SAFETY: `raw` is live; a NULL buffer of length 0 asks for the length only.
        let len = unsafe { f(self.raw(), c_key.as_ptr(), ptr::null_mut(), 0) };
        let len = usize::try_from(len).ok()?;
        let mut buf = vec![0u8; len + 1];
        let inlen = c_int::try_from(buf.len()).ok()?;
        // SAFETY: `buf` has `inlen` writable bytes; liblxc writes at most that, NUL included.
        let got = unsafe { f(self.raw(), c_key.as_ptr(), buf.as_mut_ptr().cast(), inlen) };
        if got < 0 {
            return None;
        }
        let value = CStr::from_bytes_until_nul(&buf).ok()?;
        Some(value.to_string_lossy().into_owned())
    }

    /// Write the in-memory configuration to the container's config file.
    pub fn save_config(&self) -> Result<()> {
        let f = method!(self, save_config);
        // SAFETY: `raw` is live; NULL means the container's own config file.
        if unsafe { f(self.raw(), ptr::null()) } {
            Ok(())
        } else {
            Err(self.failed("save_config"))
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        // SAFETY: this handle holds one reference (from `lxc_container_new` or `clone`), released
        // exactly once here; the pointer is not used afterwards.
        unsafe {
            ffi::lxc_container_put(self.raw());
        }
    }
}

/// Copy a NULL-terminated, malloc'ed array of malloc'ed strings from liblxc into owned Strings,
/// freeing each string and then the array. NULL (liblxc's "none" or error) gives an empty list.
fn take_string_array(array: *mut *mut c_char) -> Vec<String> {
    let mut out = Vec::new();
    if array.is_null() {
        return out;
    }
    let mut i = 0;
    loop {
        // SAFETY: `array` is a NULL-terminated array from liblxc; we stop at the terminator.
        let item = unsafe { *array.add(i) };
        if item.is_null() {
            break;
        }
        // SAFETY: `item` is a NUL-terminated string malloc'ed by liblxc; copied, then freed once.
        unsafe {
            out.push(CStr::from_ptr(item).to_string_lossy().into_owned());
            libc::free(item.cast());
        }
        i += 1;
    }
    // SAFETY: the array itself was malloc'ed by liblxc; its strings are freed above.
    unsafe { libc::free(array.cast()) };
    out
}

//! The project as the pages show it: each env's hosts, roles, strategy, deploy sequence and
//! protection, resolved as the CLI resolves them (an inventory included), read once and cached
//! until the environments file or an inventory file changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::environments::external::Reading;
use crate::environments::Project;
use crate::pipeline::settings::Strategy;
use crate::secret::Redactor;
use crate::settings::protection::Protection;
use crate::settings::roles::Roles;

/// One env, as the environments page shows it.
#[derive(Debug, Clone, Default)]
pub struct EnvView {
    pub name: String,
    /// Why the env cannot be used (a bad key), rendered as the CLI renders it.
    pub error: Option<String>,
    pub hosts: Vec<String>,
    /// The LXC container of an `lxc` env.
    pub lxc: Option<String>,
    /// Role name and its hosts (`roledefs`).
    pub roles: Vec<(String, Vec<String>)>,
    /// `parallel`, or `rolling, N at a time`.
    pub strategy: String,
    /// The `deploy` sequence as written (or the default).
    pub sequence: Vec<String>,
    /// `production` or `protected` when it is either.
    pub protected: Option<&'static str>,
    /// `always`, `auto` or `never`.
    pub maintenance: String,
}

/// The whole project, as loaded.
#[derive(Debug, Default)]
pub struct View {
    pub file: PathBuf,
    /// An `environments.py` project: dfab reads it, never writes it.
    pub python: bool,
    pub envs: Vec<EnvView>,
    /// A load error: the file is shown as it stands, with this.
    pub error: Option<String>,
    /// The project's secret values.
    pub redactor: Redactor,
    /// The inventory files the envs read: a change to one reloads the view.
    pub inventories: Vec<PathBuf>,
}

impl View {
    /// The env named `name`.
    #[must_use]
    pub fn env(&self, name: &str) -> Option<&EnvView> {
        self.envs.iter().find(|e| e.name == name)
    }
}

/// Load `file` into a [`View`].
#[must_use]
pub fn load(file: &Path) -> View {
    let python = file.extension().is_some_and(|e| e == "py");
    let project = match Project::load(file, false) {
        Ok(p) => p,
        Err(e) => {
            return View {
                file: file.to_path_buf(),
                python,
                error: Some(crate::error::render(&e)),
                ..View::default()
            }
        }
    };
    let redactor = Redactor::new(crate::secret::project_secrets(&project));
    let mut inventories = Vec::new();
    let envs = project
        .envs
        .iter()
        .map(|d| env_view(&project, &d.name, &mut inventories))
        .collect();
    View {
        file: file.to_path_buf(),
        python,
        envs,
        error: None,
        redactor,
        inventories,
    }
}

/// One env's view; the inventory file it reads (if any) is added to `inventories`.
fn env_view(project: &Project, name: &str, inventories: &mut Vec<PathBuf>) -> EnvView {
    let mut v = EnvView {
        name: name.to_string(),
        ..EnvView::default()
    };
    // The inventory's path as activation resolves it (absolute against the project), also
    // when reading it fails: fixing the file must show on the page.
    if let Some(inv) = project
        .activate(name)
        .ok()
        .and_then(|e| e.str("inventory").map(|p| project.dir().join(p)))
    {
        if !inventories.contains(&inv) {
            inventories.push(inv);
        }
    }
    // The CLI's own resolution: `-l`'s reading (no secret source read), the inventory applied.
    let env = match crate::tasks::plan::activate(project, name, Reading::Nothing) {
        Ok(e) => e,
        Err(e) => {
            v.error = Some(crate::error::render(&e));
            return v;
        }
    };
    v.hosts = env.str_list("hosts");
    v.lxc = env.str("lxc").map(String::from);
    let roles = Roles::from_env(&env);
    v.roles = roles
        .names()
        .map(|r| {
            (
                r.to_string(),
                roles.get(r).map(<[String]>::to_vec).unwrap_or_default(),
            )
        })
        .collect();
    let prot = Protection::of(&env);
    v.protected = prot.is_protected().then(|| prot.label());
    match crate::pipeline::settings::read(&env) {
        Ok(s) => {
            v.strategy = match s.strategy {
                Strategy::Parallel => "parallel".into(),
                Strategy::Rolling(n) => format!("rolling, {n} at a time"),
                Strategy::Bluegreen => "bluegreen (a fleet)".into(),
                Strategy::Serial => "serial (a fleet)".into(),
            };
            v.sequence = s.sequence.into_iter().map(|(w, _)| w).collect();
            v.maintenance = format!("{:?}", s.maintenance).to_lowercase();
        }
        Err(e) => v.error = Some(crate::error::render(&e)),
    }
    v
}

/// Each watched file's modification time and size (none when it cannot be read).
type Stamps = Vec<Option<(SystemTime, u64)>>;

/// The view, reloaded when the modification time or size of the environments file or of an
/// inventory file it names changes.
pub struct Cache {
    file: PathBuf,
    state: Mutex<(Stamps, Arc<View>)>,
}

impl Cache {
    /// A cache of `file`, loaded now.
    #[must_use]
    pub fn new(file: PathBuf) -> Cache {
        let view = Arc::new(load(&file));
        let stamps = stamps(&file, &view);
        Cache {
            file,
            state: Mutex::new((stamps, view)),
        }
    }

    /// The current view.
    pub fn get(&self) -> Arc<View> {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = stamps(&self.file, &st.1);
        if st.0 != now || now[0].is_none() {
            let view = Arc::new(load(&self.file));
            *st = (stamps(&self.file, &view), view);
        }
        Arc::clone(&st.1)
    }

    /// The environments file.
    #[must_use]
    pub fn file(&self) -> &Path {
        &self.file
    }
}

fn stamps(file: &Path, view: &View) -> Stamps {
    std::iter::once(file)
        .chain(view.inventories.iter().map(PathBuf::as_path))
        .map(stamp)
        .collect()
}

fn stamp(file: &Path) -> Option<(SystemTime, u64)> {
    let m = fs_err::metadata(file).ok()?;
    Some((m.modified().ok()?, m.len()))
}

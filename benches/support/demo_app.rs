//! The embedded demo with its generated data in a scratch dir, for benches that route as the
//! server does (`App::route` reads orders, and runs nothing that changes them).

use flowmcp::app::App;
use flowmcp::assistant::Understanding;
use flowmcp::config::{Settings, WorkflowChoice};
use flowmcp::domain::{Caller, ChannelId};
use serde_json::Map;

pub(crate) struct DemoApp {
    pub(crate) app: App,
    runtime: tokio::runtime::Runtime,
    caller: Caller,
    /// Holds the data dir until the bench ends.
    _data_dir: tempfile::TempDir,
}

impl DemoApp {
    pub(crate) fn open() -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let channel = ChannelId::parse("bench").expect("channel");
        let app = flowmcp::open_app(&Settings {
            workflow: WorkflowChoice::Embedded,
            data_dir: data_dir.path().to_path_buf(),
            channel: channel.clone(),
            user: None,
            llm: None,
            agent_max_steps: 25,
        })
        .expect("demo opens");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Self {
            app,
            runtime,
            caller: Caller::new(channel, None),
            _data_dir: data_dir,
        }
    }

    /// `text` routed at the global context, every command available.
    pub(crate) fn route(&self, text: &str) -> Understanding {
        self.runtime
            .block_on(self.app.route(&self.caller, text, &|_| true, &Map::new()))
    }
}

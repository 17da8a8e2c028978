//! The ceilings the benches compare flowmcp with: an rmcp server with one no-op tool (the
//! cheapest `tools/call` rmcp can answer), and its durable variant that first puts one
//! ~2 KB record into RocksDB per call (the floor cost every flowmcp call pays to keep its turn).
#![allow(dead_code)] // each bench uses a different subset

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use anyhow::Context as _;
use rmcp::{
    ErrorData, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
        PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    },
    service::{RequestContext, RoleServer},
};

/// The ceilings' only tool.
pub(crate) const NOOP_TOOL: &str = "noop";

static NOOP: LazyLock<Tool> = LazyLock::new(|| {
    // Accepts any object so it can take the same arguments as the flowmcp tools.
    let schema = serde_json::Map::from_iter([("type".to_owned(), serde_json::json!("object"))]);
    Tool::new(
        NOOP_TOOL,
        "Does nothing; the ceiling for tools/call.",
        schema,
    )
});

/// One tool that returns at once; with a database, it first puts one record of
/// [`DURABLE_RECORD_BYTES`] (the durable ceiling).
#[derive(Clone, Default)]
pub(crate) struct NoopServer {
    pub(crate) durable: Option<Arc<Durable>>,
}

/// The durable ceiling's store: RocksDB with default write options (WAL on, not fsynced),
/// one new key per call.
pub(crate) struct Durable {
    db: rocksdb::DB,
    next_key: AtomicU64,
    record: Vec<u8>,
}

/// About the size of a stored `get_order_details` turn.
pub(crate) const DURABLE_RECORD_BYTES: usize = 2048;

impl Durable {
    pub(crate) fn open(dir: &Path) -> anyhow::Result<Self> {
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        let db = rocksdb::DB::open(&options, dir)
            .with_context(|| format!("open RocksDB in {}", dir.display()))?;
        Ok(Self {
            db,
            next_key: AtomicU64::new(0),
            record: vec![b'x'; DURABLE_RECORD_BYTES],
        })
    }

    fn put(&self) -> Result<(), rocksdb::Error> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        self.db.put(key.to_be_bytes(), &self.record)
    }
}

impl ServerHandler for NoopServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![NOOP.clone()]))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        (name == NOOP_TOOL).then(|| NOOP.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != NOOP_TOOL {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {}", request.name),
                None,
            ));
        }
        if let Some(durable) = &self.durable {
            durable
                .put()
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        }
        Ok(CallToolResult::success(vec![ContentBlock::text("ok")]).into())
    }
}

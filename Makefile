# The two commands of the README: `make run` serves the demo, `make test` runs every test.
# Both install what a fresh Debian machine lacks first (run as root or with sudo available).

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CARGO ?= cargo

.PHONY: run test deps lint unit conformance clients bench

run: deps
	$(CARGO) run --release -- serve --auth none --host 127.0.0.1 --port 8000

test: deps lint unit conformance clients

# RocksDB's bindings need libclang and a C++ compiler; the exec tests and examples use
# python3 (and its venv module for the client checks); the conformance script fetches Node 22
# and the suite with npm.
deps:
	@command -v $(CARGO) >/dev/null || { echo "Rust (cargo >= 1.88) is required: install it with rustup" >&2; exit 1; }
	@dpkg -s libclang-dev >/dev/null 2>&1 && command -v python3 >/dev/null && command -v g++ >/dev/null \
		&& python3 -c 'import ensurepip, venv' 2>/dev/null && command -v npm >/dev/null || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libclang-dev python3 \
			python3-venv g++ $$(command -v npm >/dev/null || echo npm); }

# rustfmt leaves a line it cannot fit (a long string literal) as it is: fail on those too.
lint:
	$(CARGO) fmt --all -- --check
	@! LC_ALL=C.UTF-8 grep -rnP '^.{101,}' --include='*.rs' src tests benches \
		|| { echo "lines over 100 characters (rustfmt's max_width): split them" >&2; exit 1; }
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --no-fail-fast; \
	else \
		$(CARGO) test --no-fail-fast; \
	fi

# The official MCP conformance suite against the debug binary the tests built, in three runs:
# the fixture workflow, the embedded demo, and the 2026-07-28 scenarios of the 0.2 suite
# (select some with CONFORMANCE_RUNS="fixtures demo 2026"; see scripts/conformance.sh).
conformance:
	$(CARGO) build --tests   # same features as the test build: no second RocksDB compile
	FLOWMCP_BIN=target/debug/flowmcp bash scripts/conformance.sh

# Real clients against a real server: Schemathesis fuzzes the REST API from /openapi.json, the
# Python MCP SDK connects with a minted token (both installed into target/python-venv).
clients:
	$(CARGO) build --tests
	FLOWMCP_BIN=target/debug/flowmcp bash scripts/schemathesis.sh
	FLOWMCP_BIN=target/debug/flowmcp bash scripts/python_sdk_check.sh

bench:
	$(CARGO) build --release
	$(CARGO) bench --bench store_turns
	$(CARGO) bench --bench mcp_load
	$(CARGO) bench --bench rest_load
	$(CARGO) bench --bench token_verify
	$(CARGO) bench --bench assistant_accuracy
	$(CARGO) bench --bench assistant_latency
	$(CARGO) bench --bench lifecycle

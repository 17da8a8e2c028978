"""A real client's check: the Python MCP SDK, with a token minted by `flowmcp token mint`,
against `flowmcp serve` (secure by default) bound to a non-loopback address.

Run by scripts/python_sdk_check.sh, which starts the server; this file only talks to it.
Usage: python_sdk_check.py URL TOKEN
"""

import asyncio
import sys

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


async def main(url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write, *_):
            async with ClientSession(read, write) as session:
                info = await session.initialize()
                assert info.server_info.name == "flowmcp", info.server_info
                tools = {t.name for t in (await session.list_tools()).tools}
                for wanted in ("perform_action", "invoke_assistant", "calculate"):
                    assert wanted in tools, (wanted, sorted(tools))
                result = await session.call_tool("calculate", {"expression": "6 * 7"})
                text = result.content[0].text
                assert not result.is_error and "42" in text, text
                routed = await session.call_tool(
                    "invoke_assistant", {"command": "where is my order #W2611340?"}
                )
                output = routed.structured_content or {}
                assert output.get("command_name") == "get_order_details", output
    # Without the token the server says why, and where its metadata is.
    async with httpx2.AsyncClient(timeout=30) as http:
        refused = await http.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert refused.status_code == 401, refused.status_code
        challenge = refused.headers.get("www-authenticate", "")
        assert "resource_metadata=" in challenge, challenge
    print(f"python mcp SDK: ok ({len(tools)} tools, calculate -> {text!r})")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))

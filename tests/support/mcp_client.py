"""An MCP client for aie's tests: the official Python SDK (`mcp`) starts `aie mcp` over
stdio, negotiates, and runs one scenario; what every call gave is printed as one JSON
object on stdout for the Rust test (tests/cli/mcp.rs) to check.

    mcp_client.py session AIE_BIN IDS_JSON   the whole walk: lists, each tool, hostile calls
    mcp_client.py race AIE_BIN ID            `aie plan` and a proposal for ID at the same time

The server gets this process's environment (AIE_VAULT, AIE_NOW, HOME, ...).
"""

import asyncio
import fcntl
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import McpError
from mcp.types import Implementation


def locks_free(vault):
    """Whether every lock file under .aie/locks/ can be taken at once (flock, as std's
    File::try_lock takes it): the server holds none while it waits for a message."""
    d = os.path.join(vault, ".aie", "locks")
    if not os.path.isdir(d):
        return True
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "a+") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
    return True


async def tool(s, name, args=None):
    try:
        r = await s.call_tool(name, args or {})
    except McpError as e:
        return {"rpc_error": str(e)}
    text = r.content[0].text if r.content else ""
    return {"isError": bool(r.isError), "structured": r.structuredContent, "text": text}


async def rpc(coro):
    try:
        return {"ok": json.loads((await coro).model_dump_json(by_alias=True, exclude_none=True))}
    except McpError as e:
        return {"rpc_error": str(e)}


def params(aie):
    return StdioServerParameters(command=aie, args=["mcp"], env=dict(os.environ))


async def session(aie, ids):
    vault = os.environ["AIE_VAULT"]
    out = {}
    async with stdio_client(params(aie)) as (r, w):
        info = Implementation(name="aie test client", version="1.0")
        async with ClientSession(r, w, client_info=info) as s:
            init = await s.initialize()
            out["protocol_version"] = init.protocolVersion
            out["server_name"] = init.serverInfo.name
            tools = (await s.list_tools()).tools
            out["tools"] = {t.name: {"input": t.inputSchema, "output": t.outputSchema} for t in tools}
            res = (await s.list_resources()).resources
            out["resources"] = [str(x.uri) for x in res]
            out["resource_texts"] = {}
            for x in res:
                out["resource_texts"][str(x.uri)] = await rpc(s.read_resource(x.uri))
            out["prompts"] = [p.name for p in (await s.list_prompts()).prompts]
            out["prompt"] = await rpc(s.get_prompt("plan_item", {"id": ids["reply"]}))
            out["idle_locks_free_before"] = locks_free(vault)

            # Each tool.
            out["status"] = await tool(s, "status")
            out["list_items"] = await tool(s, "list_items")
            out["list_general_2"] = await tool(
                s, "list_items", {"stage": "needs_action", "domain": "general", "limit": 2}
            )
            out["read_item"] = await tool(s, "read_item", {"id": ids["reply"]})
            out["accounting"] = await tool(s, "accounting")
            out["briefing"] = await tool(s, "briefing", {"week": "2026-W47"})

            # The hostile client.
            mail = {"kind": "send_email", "to": ["ann@x.example"], "subject": "Re: Hi", "body": "Sure."}
            base = {"id": ids["hostile"], "objective": "o", "steps": ["s"]}
            out["h_needs_approval_false"] = await tool(
                s, "propose_plan", {**base, "actions": [{**mail, "needs_approval": False}]}
            )
            out["h_rule"] = await tool(
                s, "propose_plan", {**base, "actions": [{**mail, "rule": "known_contact"}]}
            )
            out["h_unknown_kind"] = await tool(
                s, "propose_plan", {**base, "actions": [{"kind": "wire_transfer", "amount": 9000}]}
            )
            out["h_extra_top"] = await tool(
                s, "propose_plan", {**base, "actions": [mail], "approved_by": "owner"}
            )
            out["h_extra_param"] = await tool(
                s, "propose_plan", {**base, "actions": [{**mail, "auto_send": True}]}
            )
            out["h_extra_list_arg"] = await tool(s, "list_items", {"path": "/etc"})
            out["h_read_dotdot"] = await tool(s, "read_item", {"id": "../../aie.yaml"})
            out["h_read_outside"] = await tool(s, "read_item", {"id": "../../outside"})
            out["h_read_link"] = await tool(s, "read_item", {"id": ids["link"]})
            out["h_propose_dotdot"] = await tool(
                s, "propose_plan", {**base, "id": "../Approved/x", "actions": [mail]}
            )
            out["h_resource_dotdot"] = await rpc(s.read_resource("aie://vault/../aie.yaml"))
            out["h_resource_file"] = await rpc(s.read_resource("file:///etc/passwd"))
            out["h_prompt_dotdot"] = await rpc(s.get_prompt("plan_item", {"id": "../x"}))
            out["h_tool_approve"] = await tool(s, "approve", {"id": ids["hostile"]})
            out["h_tool_execute"] = await tool(s, "execute_approved")
            out["h_nowhere"] = await tool(
                s,
                "propose_plan",
                {**base, "actions": [{**mail, "to": ["mallory@evil.example"], "bcc": ["bob@x.example"]}]},
            )
            out["h_again"] = await tool(s, "propose_plan", {**base, "actions": [mail]})

            # Plans that route: by policy, and notes only.
            out["p_reply"] = await tool(
                s, "propose_plan", {"id": ids["reply"], "objective": "Answer Ann", "steps": ["reply"], "actions": [mail]}
            )
            out["p_note"] = await tool(
                s,
                "propose_plan",
                {"id": ids["note"], "objective": "File it", "steps": [], "actions": [{"kind": "note", "text": "Nothing to do."}]},
            )
            out["idle_locks_free_after"] = locks_free(vault)
    return out


async def race(aie, item):
    out = {}
    async with stdio_client(params(aie)) as (r, w):
        info = Implementation(name="racer", version="1.0")
        async with ClientSession(r, w, client_info=info) as s:
            await s.initialize()
            await s.list_tools()
            plan = await asyncio.create_subprocess_exec(
                aie, "plan", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
            mail = {"kind": "send_email", "to": ["ann@x.example"], "subject": "Re: Hi", "body": "Sure."}
            proposal, (stdout, stderr) = await asyncio.gather(
                tool(s, "propose_plan", {"id": item, "objective": "o", "steps": [], "actions": [mail]}),
                plan.communicate(),
            )
            out["propose"] = proposal
            out["plan_exit"] = plan.returncode
            out["plan_stderr"] = stderr.decode(errors="replace")
    return out


def main():
    mode, aie = sys.argv[1], sys.argv[2]
    if mode == "session":
        out = asyncio.run(session(aie, json.loads(sys.argv[3])))
    elif mode == "race":
        out = asyncio.run(race(aie, sys.argv[3]))
    else:
        sys.exit(f"unknown mode {mode}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

//! The resources and the prompt of `aie mcp`: `Dashboard.md`, `Company_Handbook.md` and
//! `Business_Goals.md` as resources (read without following a link, nothing else of the
//! vault or outside it can be named), and the prompt "plan this item", which gives the
//! client's model the very instructions the built-in model planner gets
//! (`planner::llm::build_request`), the item fenced as untrusted data.

use super::protocol::{INVALID_PARAMS, RESOURCE_NOT_FOUND};
use crate::context::Ctx;
use crate::outcome::Outcome;
use crate::vault::Item;
use serde_json::{Map, Value, json};

/// The vault files served as resources, with what each is.
const FILES: &[(&str, &str)] = &[
    (
        "Dashboard.md",
        "What waits, what ran, what needs the owner (written by aie).",
    ),
    ("Company_Handbook.md", "The owner's rules, in their words."),
    ("Business_Goals.md", "The business goals and targets."),
];

/// The prompt's name.
pub const PLAN_PROMPT: &str = "plan_item";

fn uri_of(name: &str) -> String {
    format!("aie://vault/{name}")
}

/// The resources: the three files that exist.
pub fn resources(ctx: &Ctx) -> Vec<Value> {
    FILES
        .iter()
        .filter(|(name, _)| ctx.vault.root().join(name).is_file())
        .map(|(name, what)| {
            json!({"uri": uri_of(name), "name": name, "title": name, "description": what, "mimeType": "text/markdown"})
        })
        .collect()
}

/// `resources/read`: one of the three files by its URI; any other URI is not found.
pub fn read_resource(ctx: &Ctx, uri: &str) -> Result<Value, (i64, String)> {
    let not_found = || (RESOURCE_NOT_FOUND, format!("no resource `{uri}`"));
    let name = FILES
        .iter()
        .map(|(n, _)| *n)
        .find(|n| uri_of(n) == uri)
        .ok_or_else(not_found)?;
    let root = ctx.vault.root();
    let bytes = crate::fsutil::read_vault_file(root, &root.join(name))
        .map_err(|e| (RESOURCE_NOT_FOUND, format!("{e:#}")))?
        .ok_or_else(not_found)?;
    Ok(json!({"contents": [{
        "uri": uri,
        "mimeType": "text/markdown",
        "text": String::from_utf8_lossy(&bytes),
    }]}))
}

/// The prompts: "plan this item".
pub fn prompts() -> Vec<Value> {
    vec![json!({
        "name": PLAN_PROMPT,
        "title": "Plan this item",
        "description": "The instructions aie's own model planner gets for one item, to answer with the propose_plan tool.",
        "arguments": [{"name": "id", "description": "The item's id (see list_items)", "required": true}],
    })]
}

/// `prompts/get` of "plan this item" for the item `arguments.id`.
pub fn get_prompt(
    ctx: &Ctx,
    name: &str,
    args: Option<&Map<String, Value>>,
) -> Result<Value, (i64, String)> {
    if name != PLAN_PROMPT {
        return Err((INVALID_PARAMS, format!("no prompt `{name}`")));
    }
    let id = args
        .and_then(|a| a.get("id"))
        .and_then(Value::as_str)
        .ok_or((INVALID_PARAMS, "the argument `id` is required".to_string()))?;
    crate::vault::item::check_id(id).map_err(|e| (INVALID_PARAMS, format!("{e:#}")))?;
    let (_, path) = ctx.vault.locate(id).ok_or_else(|| {
        (
            INVALID_PARAMS,
            format!("no item `{id}` in any stage folder"),
        )
    })?;
    let item = Item::read(&path).map_err(|e| (INVALID_PARAMS, format!("{e:#}")))?;
    let mut ignored = Outcome::default();
    let guides = crate::passes::plan::Guides::read(ctx, &mut ignored);
    let input = crate::passes::plan::plan_input(ctx, &item, &guides);
    let req = crate::planner::llm::build_request(&input, ctx.settings.llm.max_tokens);
    let text = format!(
        "{}\n\n{}\nAnswer by calling the `propose_plan` tool of the aie server with `id: {id}` and the fields `objective`, `steps` and `actions` of the schema above (in place of `{}`). Never set `needs_approval`, `rule` or `approved_by`: aie's policy decides them.",
        req.system,
        req.user,
        crate::planner::llm::TOOL_NAME
    );
    Ok(json!({
        "description": format!("Plan item {id}"),
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
    }))
}

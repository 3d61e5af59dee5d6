//! Finds the paged lists: an endpoint whose request takes a `page_token` (a query
//! parameter or a body field) and whose response hands out the next one (`page_token` or
//! `next_page_token`, most with `has_more`) pages the usual Feishu way.

use super::{FieldDef, FieldRef, Ir, Location, Paging, RustType, StructDef, TypeRef};

const REQUEST_TOKEN: &str = "page_token";
const RESPONSE_TOKENS: [&str; 2] = ["page_token", "next_page_token"];
const HAS_MORE: &str = "has_more";

/// Parameters that page by position rather than by token: such lists get no page stream
/// (where the next page starts is the caller's arithmetic, and the docs disagree on whether
/// it counts items or pages), only a line in their docs.
const POSITION_PARAMS: [&str; 7] = [
    "offset",
    "page",
    "page_num",
    "page_no",
    "page_index",
    "start",
    "page_number",
];
const SIZE_PARAMS: [&str; 3] = ["page_size", "limit", "size"];

pub fn find_paging(ir: &mut Ir) {
    let found: Vec<_> = ir
        .modules
        .iter()
        .flat_map(|(path, module)| {
            module.operations.iter().enumerate().map(|(index, op)| {
                let paging = paging_of(ir, op);
                let paged_by = match paging {
                    Some(_) => None,
                    None => position_param(ir, op),
                };
                ((path.clone(), index), paging, paged_by)
            })
        })
        .collect();
    for ((path, index), paging, paged_by) in found {
        let module = ir.modules.get_mut(&path).expect("module exists");
        let op = &mut module.operations[index];
        (op.paging, op.paged_by) = (paging, paged_by);
    }
}

/// The wire name of the parameter a list pages by, when it pages by position: a query
/// parameter or body field beside a page size.
fn position_param(ir: &Ir, op: &super::Operation) -> Option<String> {
    let query = op
        .request
        .fields
        .iter()
        .filter(|f| f.location == Location::Query);
    let body = op
        .request
        .fields
        .iter()
        .filter(|f| f.location == Location::Body)
        .filter_map(|f| named_struct(ir, &f.ty))
        .flat_map(|def| &def.fields);
    let params: Vec<&FieldDef> = query.chain(body).collect();
    let sized = params
        .iter()
        .any(|f| SIZE_PARAMS.contains(&f.wire.as_str()));
    let position = params
        .iter()
        .find(|f| POSITION_PARAMS.contains(&f.wire.as_str()))?;
    sized.then(|| position.wire.clone())
}

fn paging_of(ir: &Ir, op: &super::Operation) -> Option<Paging> {
    let (body, token) = request_token(ir, op)?;
    let response = named_struct(ir, &op.response)?;
    let response_token = RESPONSE_TOKENS
        .iter()
        .find_map(|wire| field(response, wire, |ty| matches!(ty, RustType::String)))?;
    let has_more = field(response, HAS_MORE, |ty| matches!(ty, RustType::Bool));
    let mut lists = response.fields.iter().filter_map(|f| match &f.ty {
        RustType::Vec(item) => Some((FieldRef::from(f), (**item).clone())),
        _ => None,
    });
    let items = match (lists.next(), lists.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    };
    Some(Paging {
        token: FieldRef::from(token),
        body,
        response_token: FieldRef::from(response_token),
        has_more: has_more.map(FieldRef::from),
        items,
    })
}

/// The request's `page_token`: a query parameter, or a field of a body the
/// request always has.
fn request_token<'a>(
    ir: &'a Ir,
    op: &'a super::Operation,
) -> Option<(Option<super::RustName>, &'a FieldDef)> {
    // A few pages make the token required, sent empty for the first page.
    let is_token = |f: &&FieldDef| f.wire == REQUEST_TOKEN && matches!(f.ty, RustType::String);
    let fields = &op.request.fields;
    if let Some(token) = fields
        .iter()
        .filter(|f| f.location == Location::Query)
        .find(is_token)
    {
        return Some((None, token));
    }
    let body = fields
        .iter()
        .find(|f| f.location == Location::Body && f.required)?;
    let token = named_struct(ir, &body.ty)?.fields.iter().find(is_token)?;
    Some((Some(body.name.clone()), token))
}

fn field<'a>(
    def: &'a StructDef,
    wire: &str,
    fits: impl Fn(&RustType) -> bool,
) -> Option<&'a FieldDef> {
    def.fields.iter().find(|f| f.wire == wire && fits(&f.ty))
}

fn named_struct<'a>(ir: &'a Ir, ty: &RustType) -> Option<&'a StructDef> {
    let RustType::Named(TypeRef { module, name }) = ty else {
        return None;
    };
    ir.modules[module].structs.iter().find(|s| &s.name == name)
}

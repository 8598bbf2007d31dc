//! Event names: every string an event is known by, in Appwrite's order.
//!
//! Appwrite expands one route pattern (`databases.[databaseId].tables.[tableId].rows.[rowId].update`)
//! into every name a subscriber might have written for it: each resource level,
//! each placeholder either concrete or `*`, and, for database events, the legacy
//! `collections/documents/attributes` twins. Functions subscribe to one of these
//! names, and realtime frames carry the whole list in `events`, so the list has to
//! be byte-for-byte Appwrite's, order included (SDK users index into it).
//!
//! This module is a port of `Event::generateEvents`, `parseEventPattern`,
//! `getDatabaseTypeEvents` and `mirrorCollectionEvents` (appwrite/appwrite,
//! `src/Appwrite/Event/Event.php`). Callers may rely on:
//! - `trigger_names` being the list functions and webhooks are matched against
//!   (no database context): 42 names for a row event, 4 for `users.U.create`;
//! - `realtime_names` being the `events` list of a realtime frame: for a
//!   resource in a TablesDB database the `tablesdb.` name comes first, followed
//!   by its `databases.…collections…documents…` and `databases.…tables…rows…`
//!   twins (64 names for a row event);
//! - every list being free of duplicates, the concrete name always first.
//!
//! Appwrite quirks that are kept on purpose, because clients see them:
//! - the order of the wildcard combinations depends on the order in which the
//!   route set its params, including params the pattern never mentions (a row
//!   route sets `databaseId, collectionId, tableId, documentId, rowId`);
//!   `route_params` records those orders;
//! - placeholder values are substituted one key after another, PHP
//!   `str_replace` style, and mirroring decides by substring (`contains("tables")`)
//!   but replaces whole dot-separated segments only, so an ID that is exactly
//!   `rows` or `tables` is mirrored like the keyword.

use crate::model::resource::{Action, DbKind, Resource};

/// `tablesdb.…` to the legacy family, applied to a `tablesdb` name.
const TABLESDB_TO_DATABASES: &[(&str, &str)] =
    &[("tablesdb", "databases"), ("tables", "collections"), ("rows", "documents"), ("columns", "attributes")];

/// Legacy terms to TablesDB terms (Appwrite's `$collectionsToTablesMap`).
const COLLECTIONS_TO_TABLES: &[(&str, &str)] =
    &[("documents", "rows"), ("collections", "tables"), ("attributes", "columns")];

/// TablesDB terms to legacy terms (Appwrite's `$tablesToCollectionsMap`).
const TABLES_TO_COLLECTIONS: &[(&str, &str)] =
    &[("rows", "documents"), ("tables", "collections"), ("columns", "attributes")];

/// How a pattern is re-prefixed for a TablesDB database (`getDatabaseTypeEvents`).
const TABLESDB_PROJECTION: &[(&str, &str)] =
    &[("databases", "tablesdb"), ("documents", "rows"), ("collections", "tables"), ("attributes", "columns")];

/// Appwrite's Event::generateEvents without database context: all levels × all
/// value/`*` combinations, in Appwrite's order, de-duplicated keeping first occurrence,
/// then database mirroring (tables<->collections, rows<->documents, columns<->attributes,
/// whole segments only) for `databases.` events. This is the list that function
/// `events` patterns are matched against (42 strings for a row event).
pub fn trigger_names(resource: &Resource, action: Action, attribute: Option<&str>) -> Vec<String> {
    let pattern = resource.pattern(action, attribute);
    generate(&pattern, &route_params(resource, action), false)
}

/// The `events` list of a realtime frame: as trigger_names, but for resources in a
/// TablesDb database the `tablesdb.` prefixed form comes first with its two twins
/// (`databases.…collections…documents…`, `databases.…tables…rows…`) — 64 strings for a
/// row event in a TablesDb database; for Legacy databases and non-database resources it
/// equals trigger_names.
pub fn realtime_names(resource: &Resource, action: Action, attribute: Option<&str>, db_kind: DbKind) -> Vec<String> {
    let pattern = resource.pattern(action, attribute);
    let tablesdb = db_kind == DbKind::TablesDb;
    generate(&pattern, &route_params(resource, action), tablesdb)
}

/// The generic expansion of a bracketed pattern with params (no mirroring).
///
/// Params are used in the order given, which decides the order of the mixed
/// value/`*` names. A placeholder with no param is emitted as its bare name
/// (Appwrite throws instead).
pub fn expand(pattern: &str, params: &[(&str, &str)]) -> Vec<String> {
    expand_parsed(&Parsed::parse(pattern), params)
}

/// Whether a function's subscribed pattern (Appwrite wildcard syntax, e.g.
/// `databases.*.tables.*.rows.*.create`, `users.*`, or a concrete name) matches an event:
/// true iff `pattern` is one of `trigger_names(...)` of that event.
pub fn pattern_matches(pattern: &str, names: &[String]) -> bool {
    names.iter().any(|name| name == pattern)
}

/// The params Appwrite's route sets for this event, in the order it sets them.
///
/// The order matters (see the module docs), so this mirrors the `setParam`
/// calls of the TablesDB, Users, Teams and Functions routes, twin keys
/// (`collectionId`, `documentId`, `attributeId`) included. Membership routes also
/// set `userId`, whose value we do not know here; mapping it to itself keeps its
/// position in the order while leaving the names unchanged.
fn route_params(resource: &Resource, action: Action) -> Vec<(&'static str, &str)> {
    match resource {
        Resource::Column { db, table, column } => vec![
            ("databaseId", db),
            ("collectionId", table),
            ("tableId", table),
            ("attributeId", column),
            ("columnId", column),
        ],
        Resource::Index { db, table, index } => match action {
            Action::Create | Action::Upsert => {
                vec![("databaseId", db), ("indexId", index), ("collectionId", table), ("tableId", table)]
            }
            Action::Update | Action::Delete => {
                vec![("databaseId", db), ("indexId", index), ("tableId", table), ("collectionId", table)]
            }
        },
        Resource::Row { db, table, row } => {
            vec![("databaseId", db), ("collectionId", table), ("tableId", table), ("documentId", row), ("rowId", row)]
        }
        Resource::Membership { team, membership } => match action {
            Action::Delete => vec![("teamId", team), ("userId", "userId"), ("membershipId", membership)],
            Action::Create | Action::Update | Action::Upsert => {
                vec![("userId", "userId"), ("teamId", team), ("membershipId", membership)]
            }
        },
        _ => resource.params(),
    }
}

/// `generateEvents`: expand, optionally re-prefixed for a TablesDB database,
/// then mirror.
///
/// The expansion's cost grows with the cube of the number of params (a row
/// event runs thousands of replacements), but its shape depends only on the
/// pattern and the param names. So it is computed (and mirrored) once per
/// shape with placeholder values that cannot occur in IDs, kept, and the real
/// values are put into the kept templates; duplicates are removed on the real
/// names, so equal IDs behave as in Appwrite. Values that could change the
/// outcome of PHP's one-key-after-another replacement or of the mirroring (a
/// value containing a param name, brackets, or one of the words mirroring
/// looks for) take the exact, slow path.
fn generate(pattern: &str, params: &[(&str, &str)], tablesdb: bool) -> Vec<String> {
    const MIRROR_WORDS: [&str; 6] = ["tables", "collections", "rows", "documents", "columns", "attributes"];
    let params = php_params(params);
    let exotic = params.iter().any(|(_, v)| {
        v.contains(['[', ']', SENTINEL_OPEN, SENTINEL_CLOSE])
            || params.iter().any(|(k, _)| !k.is_empty() && v.contains(k))
            || MIRROR_WORDS.iter().any(|w| v.contains(w))
    });
    if exotic {
        return mirror(pattern, expand_parsed(&parsed_for(pattern, tablesdb), &params));
    }
    let templates = templates(pattern, &params, tablesdb);
    let mut seen = std::collections::HashSet::with_capacity(templates.len());
    let mut out = Vec::with_capacity(templates.len());
    for t in templates.iter() {
        let name = fill_sentinels(t, &params);
        if !seen.contains(name.as_str()) {
            seen.insert(name.clone());
            out.push(name);
        }
    }
    out
}

fn parsed_for(pattern: &str, tablesdb: bool) -> Parsed<'_> {
    let mut parsed = Parsed::parse(pattern);
    if tablesdb && pattern.contains("databases.") {
        parsed.project(TABLESDB_PROJECTION);
    }
    parsed
}

const SENTINEL_OPEN: char = '\u{1}';
const SENTINEL_CLOSE: char = '\u{2}';

type TemplateKey = (String, Vec<String>, bool);

/// Expansions already computed, by shape. Names are a pure function of
/// their inputs, so this memo is invisible to callers; it holds one entry per
/// kind of event (a few dozen at most).
static TEMPLATES: std::sync::LazyLock<
    std::sync::RwLock<std::collections::HashMap<TemplateKey, std::sync::Arc<Vec<String>>>>,
> = std::sync::LazyLock::new(Default::default);

fn templates(pattern: &str, params: &[(&str, &str)], tablesdb: bool) -> std::sync::Arc<Vec<String>> {
    let key: TemplateKey = (pattern.to_owned(), params.iter().map(|(k, _)| (*k).to_owned()).collect(), tablesdb);
    if let Ok(cache) = TEMPLATES.read()
        && let Some(t) = cache.get(&key)
    {
        return t.clone();
    }
    let sentinels: Vec<String> = (0..params.len()).map(|i| format!("{SENTINEL_OPEN}{i}{SENTINEL_CLOSE}")).collect();
    let placeholder_params: Vec<(&str, &str)> =
        params.iter().zip(&sentinels).map(|((k, _), s)| (*k, s.as_str())).collect();
    let t = std::sync::Arc::new(mirror(pattern, expand_parsed(&parsed_for(pattern, tablesdb), &placeholder_params)));
    if let Ok(mut cache) = TEMPLATES.write() {
        cache.insert(key, t.clone());
    }
    t
}

/// Put the real values where the placeholder values are.
fn fill_sentinels(template: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find(SENTINEL_OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + SENTINEL_OPEN.len_utf8()..];
        let Some(end) = after.find(SENTINEL_CLOSE) else { break };
        if let Some((_, value)) = after[..end].parse::<usize>().ok().and_then(|i| params.get(i)) {
            out.push_str(value);
        }
        rest = &after[end + SENTINEL_CLOSE.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// A pattern split into Appwrite's named sections (`parseEventPattern`).
/// `None` stands for PHP's `false` (section absent).
#[derive(Debug, Default)]
struct Parsed<'a> {
    kind: &'a str,
    resource: Option<&'a str>,
    sub_type: Option<&'a str>,
    sub_resource: Option<&'a str>,
    sub_sub_type: Option<&'a str>,
    sub_sub_resource: Option<&'a str>,
    action: Option<&'a str>,
    attribute: Option<&'a str>,
}

impl<'a> Parsed<'a> {
    fn parse(pattern: &'a str) -> Self {
        let parts: Vec<&str> = pattern.split('.').collect();
        let count = parts.len();
        let at = |i: usize| parts.get(i).copied();
        let is_placeholder = |i: usize| at(i).is_some_and(|p| p.starts_with('['));
        let has_sub = count > 3 && is_placeholder(3);
        let has_sub_sub = has_sub && count > 5 && is_placeholder(5);

        let mut parsed = Parsed { kind: at(0).unwrap_or_default(), resource: at(1), ..Parsed::default() };
        if has_sub {
            parsed.sub_type = at(2);
            parsed.sub_resource = at(3);
        }
        if has_sub_sub {
            parsed.sub_sub_type = at(4);
            parsed.sub_sub_resource = at(5);
            parsed.attribute = if count == 8 { at(7) } else { None };
            parsed.action = at(6);
        } else if has_sub {
            parsed.attribute = if count == 6 { at(5) } else { None };
            parsed.action = if count > 4 { at(4) } else { None };
        } else {
            parsed.attribute = if count == 4 { at(3) } else { None };
            parsed.action = if count > 2 { at(2) } else { None };
        }
        parsed
    }

    /// Renames sections that equal a key of `map` (`getDatabaseTypeEvents`).
    fn project(&mut self, map: &[(&str, &'static str)]) {
        self.kind = rename(self.kind, map);
        let sections = [
            &mut self.resource,
            &mut self.sub_type,
            &mut self.sub_resource,
            &mut self.sub_sub_type,
            &mut self.sub_sub_resource,
            &mut self.action,
            &mut self.attribute,
        ];
        for section in sections {
            *section = section.map(|value| rename(value, map));
        }
    }

    /// The bracketed name patterns, one per level, most specific first.
    fn levels(&self) -> Vec<String> {
        let root = [self.kind, self.resource.unwrap_or_default()];
        let mid = self.sub_resource.map(|sub| {
            let mut path = root.to_vec();
            path.extend([self.sub_type.unwrap_or_default(), sub]);
            path
        });
        let deep = self.sub_sub_resource.zip(mid.as_ref()).map(|(sub_sub, mid)| {
            let mut path = mid.clone();
            path.extend([self.sub_sub_type.unwrap_or_default(), sub_sub]);
            path
        });
        let attribute = self.attribute.filter(|a| php_truthy(a));

        let mut levels = Vec::new();
        if let Some(action) = self.action.filter(|a| php_truthy(a)) {
            match deep.as_ref().or(mid.as_ref()) {
                Some(path) => {
                    if let Some(attribute) = attribute {
                        levels.push(join(path, &[action, attribute]));
                    }
                    levels.push(join(path, &[action]));
                    levels.push(join(path, &[]));
                }
                None => levels.push(join(&root, &[action])),
            }
            if let Some(attribute) = attribute {
                levels.push(join(&root, &[action, attribute]));
            }
        }
        if let Some(deep) = &deep {
            levels.push(join(deep, &[]));
        }
        if let Some(mid) = &mid {
            levels.push(join(mid, &[]));
        }
        levels.push(join(&root, &[]));
        dedup(levels)
    }
}

/// Every level × every value/`*` combination, brackets stripped, first
/// occurrence kept.
fn expand_parsed(parsed: &Parsed<'_>, params: &[(&str, &str)]) -> Vec<String> {
    let params = php_params(params);
    let deep = parsed.sub_sub_resource.is_some();
    let mut events = Vec::new();
    for level in parsed.levels() {
        combinations(&level, &params, deep, &mut events);
    }
    let stripped = events.into_iter().map(|event| event.replace(['[', ']'], ""));
    dedup(stripped.collect())
}

/// The inner loops of `generateEvents` for one level: all values, all `*`,
/// then the mixed forms in Appwrite's (param-order dependent) order.
fn combinations(level: &str, params: &[(&str, &str)], deep: bool, out: &mut Vec<String>) {
    let fill = |text: &str| substitute_values(text, params);
    out.push(fill(level));
    out.push(params.iter().fold(level.to_owned(), |text, (key, _)| php_replace(&text, key, "*")));
    for (key, _) in params {
        for (current, _) in params {
            if !deep {
                if current != key {
                    out.push(fill(&php_replace(level, current, "*")));
                }
                continue;
            }
            for (sub, _) in params {
                if sub == current || sub == key {
                    continue;
                }
                let starred = php_replace(level, sub, "*");
                out.push(fill(&starred));
                out.push(fill(&php_replace(&starred, current, "*")));
                out.push(fill(&php_replace(level, current, "*")));
            }
        }
    }
}

/// `mirrorCollectionEvents`: after each database event insert its legacy or
/// TablesDB twin(s); other events pass through unchanged.
fn mirror(pattern: &str, events: Vec<String>) -> Vec<String> {
    let Some(first) = events.first() else {
        return events;
    };
    let database_event = pattern.contains("databases.") && (first.contains("collections") || first.contains("tables"));
    if !database_event && !first.contains("tablesdb.") {
        return events;
    }
    let mut paired = Vec::with_capacity(events.len() * 3);
    for event in events {
        if event.contains("tablesdb") {
            let legacy = map_segments(&event, TABLESDB_TO_DATABASES);
            let tables = map_segments(&legacy, COLLECTIONS_TO_TABLES);
            paired.extend([event, legacy, tables]);
        } else if event.contains("collections") {
            let twin = map_segments(&event, COLLECTIONS_TO_TABLES);
            paired.extend([event, twin]);
        } else if event.contains("tables") {
            let twin = map_segments(&event, TABLES_TO_COLLECTIONS);
            paired.extend([event, twin]);
        } else {
            paired.push(event);
        }
    }
    dedup(paired)
}

/// Replaces whole dot-separated segments found in `map` (`replaceEventSegments`).
fn map_segments(event: &str, map: &[(&str, &'static str)]) -> String {
    event.split('.').map(|segment| rename(segment, map)).collect::<Vec<_>>().join(".")
}

fn rename<'a>(value: &'a str, map: &[(&str, &'static str)]) -> &'a str {
    map.iter().find(|(from, _)| *from == value).map_or(value, |(_, to)| to)
}

/// Replaces every key by its value, one key after another, so a later key is
/// also replaced inside an earlier value (PHP `str_replace` with arrays).
fn substitute_values(text: &str, params: &[(&str, &str)]) -> String {
    params.iter().fold(text.to_owned(), |text, (key, value)| php_replace(&text, key, value))
}

/// `str_replace` for one search string; PHP ignores an empty search string.
fn php_replace(text: &str, from: &str, to: &str) -> String {
    if from.is_empty() { text.to_owned() } else { text.replace(from, to) }
}

/// Params as a PHP associative array: a repeated key keeps its first
/// position and takes its last value.
fn php_params<'p>(params: &[(&'p str, &'p str)]) -> Vec<(&'p str, &'p str)> {
    let mut unique: Vec<(&str, &str)> = Vec::with_capacity(params.len());
    for &(key, value) in params {
        match unique.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => unique.push((key, value)),
        }
    }
    unique
}

/// PHP's truthiness for a string: `""` and `"0"` are false.
fn php_truthy(value: &str) -> bool {
    !value.is_empty() && value != "0"
}

fn join(path: &[&str], tail: &[&str]) -> String {
    path.iter().chain(tail).copied().collect::<Vec<_>>().join(".")
}

/// Removes repeats, keeping each string's first position (`array_unique`).
fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items.into_iter().filter(|item| seen.insert(item.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Resource {
        Resource::Row { db: "main".into(), table: "games".into(), row: "g1".into() }
    }

    fn user() -> Resource {
        Resource::User { user: "u1".into() }
    }

    /// appwrite-functions-db.md §5.3, in order.
    const ROW_UPDATE_42: [&str; 42] = [
        "databases.main.tables.games.rows.g1.update",
        "databases.main.collections.games.documents.g1.update",
        "databases.*.tables.*.rows.*.update",
        "databases.*.collections.*.documents.*.update",
        "databases.*.tables.games.rows.g1.update",
        "databases.*.collections.games.documents.g1.update",
        "databases.main.tables.*.rows.g1.update",
        "databases.main.collections.*.documents.g1.update",
        "databases.*.tables.*.rows.g1.update",
        "databases.*.collections.*.documents.g1.update",
        "databases.main.tables.games.rows.*.update",
        "databases.main.collections.games.documents.*.update",
        "databases.*.tables.games.rows.*.update",
        "databases.*.collections.games.documents.*.update",
        "databases.main.tables.*.rows.*.update",
        "databases.main.collections.*.documents.*.update",
        "databases.main.tables.games.rows.g1",
        "databases.main.collections.games.documents.g1",
        "databases.*.tables.*.rows.*",
        "databases.*.collections.*.documents.*",
        "databases.*.tables.games.rows.g1",
        "databases.*.collections.games.documents.g1",
        "databases.main.tables.*.rows.g1",
        "databases.main.collections.*.documents.g1",
        "databases.*.tables.*.rows.g1",
        "databases.*.collections.*.documents.g1",
        "databases.main.tables.games.rows.*",
        "databases.main.collections.games.documents.*",
        "databases.*.tables.games.rows.*",
        "databases.*.collections.games.documents.*",
        "databases.main.tables.*.rows.*",
        "databases.main.collections.*.documents.*",
        "databases.main.tables.games",
        "databases.main.collections.games",
        "databases.*.tables.*",
        "databases.*.collections.*",
        "databases.*.tables.games",
        "databases.*.collections.games",
        "databases.main.tables.*",
        "databases.main.collections.*",
        "databases.main",
        "databases.*",
    ];

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn assert_unique(names: &[String]) {
        let mut sorted = names.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "duplicates in {names:?}");
    }

    #[test]
    fn row_update_trigger_names_match_the_reference_exactly() {
        let names = trigger_names(&row(), Action::Update, None);
        assert_eq!(names, strings(&ROW_UPDATE_42));
    }

    #[test]
    fn row_update_realtime_names_on_tablesdb() {
        let names = realtime_names(&row(), Action::Update, None, DbKind::TablesDb);
        assert_eq!(names.len(), 64);
        assert_unique(&names);
        assert_eq!(
            names[..6],
            strings(&[
                "tablesdb.main.tables.games.rows.g1.update",
                "databases.main.collections.games.documents.g1.update",
                "databases.main.tables.games.rows.g1.update",
                "tablesdb.*.tables.*.rows.*.update",
                "databases.*.collections.*.documents.*.update",
                "databases.*.tables.*.rows.*.update",
            ])
        );
        assert_eq!(names[60..], strings(&["tablesdb.main", "databases.main", "tablesdb.*", "databases.*"]));

        // Every (tables, collections) pair of the 42-list becomes
        // (tablesdb, collections, tables); the two `databases.X` singles pair up.
        let (pairs, singles) = ROW_UPDATE_42.split_at(40);
        let mut expected = Vec::new();
        for pair in pairs.chunks(2) {
            expected.push(pair[0].replacen("databases", "tablesdb", 1));
            expected.push(pair[1].to_owned());
            expected.push(pair[0].to_owned());
        }
        for single in singles {
            expected.push(single.replacen("databases", "tablesdb", 1));
            expected.push((*single).to_owned());
        }
        assert_eq!(expected, names);
    }

    #[test]
    fn realtime_names_equal_trigger_names_outside_tablesdb() {
        assert_eq!(
            realtime_names(&row(), Action::Create, None, DbKind::Legacy),
            trigger_names(&row(), Action::Create, None)
        );
        let prefs = Some("prefs");
        assert_eq!(
            realtime_names(&user(), Action::Update, prefs, DbKind::TablesDb),
            trigger_names(&user(), Action::Update, prefs)
        );
    }

    #[test]
    fn database_level_event_on_tablesdb() {
        let db = Resource::Database { db: "main".into() };
        assert_eq!(
            realtime_names(&db, Action::Update, None, DbKind::TablesDb),
            strings(&[
                "tablesdb.main.update",
                "databases.main.update",
                "tablesdb.*.update",
                "databases.*.update",
                "tablesdb.main",
                "databases.main",
                "tablesdb.*",
                "databases.*",
            ])
        );
        // No `tables`/`collections` in the first name: Appwrite does not mirror.
        assert_eq!(
            trigger_names(&db, Action::Update, None),
            strings(&["databases.main.update", "databases.*.update", "databases.main", "databases.*"])
        );
    }

    #[test]
    fn user_counts_from_event_test() {
        let torsten = Resource::User { user: "torsten".into() };
        assert_eq!(
            trigger_names(&torsten, Action::Create, None),
            strings(&["users.torsten.create", "users.*.create", "users.torsten", "users.*"])
        );
        let email = trigger_names(&torsten, Action::Update, Some("email"));
        assert_eq!(email.len(), 6);
        for name in [
            "users.torsten.update.email",
            "users.torsten.update",
            "users.torsten",
            "users.*.update.email",
            "users.*.update",
            "users.*",
        ] {
            assert!(email.iter().any(|n| n == name), "{name}");
        }
    }

    #[test]
    fn user_update_name_matches_the_realtime_reference() {
        assert_eq!(
            trigger_names(&user(), Action::Update, Some("name")),
            strings(&[
                "users.u1.update",
                "users.*.update",
                "users.u1.update.name",
                "users.*.update.name",
                "users.u1",
                "users.*",
            ])
        );
    }

    #[test]
    fn buckets_example_via_expand() {
        let params = [("bucketId", "b1"), ("fileId", "f1")];
        assert_eq!(
            expand("buckets.[bucketId].files.[fileId].create", &params),
            strings(&[
                "buckets.b1.files.f1.create",
                "buckets.*.files.*.create",
                "buckets.b1.files.*.create",
                "buckets.*.files.f1.create",
                "buckets.b1.files.f1",
                "buckets.*.files.*",
                "buckets.b1.files.*",
                "buckets.*.files.f1",
                "buckets.b1",
                "buckets.*",
            ])
        );
    }

    #[test]
    fn event_test_counts_with_plain_params() {
        let two = [("tableId", "chapters"), ("rowId", "prolog")];
        assert_eq!(expand("tables.[tableId].rows.[rowId].create", &two).len(), 10);
        let three = [("databaseId", "chaptersDB"), ("tableId", "chapters"), ("rowId", "prolog")];
        let pattern = "databases.[databaseId].tables.[tableId].rows.[rowId].create";
        let names = generate(pattern, &three, false);
        assert_eq!(names.len(), 42);
        assert!(names.iter().any(|n| n == "databases.chaptersDB.tables.*.rows.*.create"));
    }

    #[test]
    fn execution_update_matches_the_functions_reference() {
        let execution = Resource::Execution { function: "processGameResult".into(), execution: "exec1".into() };
        assert_eq!(
            trigger_names(&execution, Action::Update, None),
            strings(&[
                "functions.processGameResult.executions.exec1.update",
                "functions.*.executions.*.update",
                "functions.processGameResult.executions.*.update",
                "functions.*.executions.exec1.update",
                "functions.processGameResult.executions.exec1",
                "functions.*.executions.*",
                "functions.processGameResult.executions.*",
                "functions.*.executions.exec1",
                "functions.processGameResult",
                "functions.*",
            ])
        );
    }

    #[test]
    fn membership_status_update_order_follows_the_route_params() {
        let membership = Resource::Membership { team: "t1".into(), membership: "m1".into() };
        assert_eq!(
            trigger_names(&membership, Action::Update, Some("status")),
            strings(&[
                "teams.t1.memberships.m1.update.status",
                "teams.*.memberships.*.update.status",
                "teams.*.memberships.m1.update.status",
                "teams.t1.memberships.*.update.status",
                "teams.t1.memberships.m1.update",
                "teams.*.memberships.*.update",
                "teams.*.memberships.m1.update",
                "teams.t1.memberships.*.update",
                "teams.t1.memberships.m1",
                "teams.*.memberships.*",
                "teams.*.memberships.m1",
                "teams.t1.memberships.*",
                "teams.t1.update.status",
                "teams.*.update.status",
                "teams.t1",
                "teams.*",
            ])
        );
        // The delete route sets teamId before userId: concrete team first.
        let deleted = trigger_names(&membership, Action::Delete, None);
        assert_eq!(deleted[2], "teams.t1.memberships.*.delete");
        assert_eq!(deleted[3], "teams.*.memberships.m1.delete");
    }

    #[test]
    fn mirroring_replaces_whole_segments_only() {
        let archived = Resource::Row { db: "factory-db".into(), table: "rows-archive".into(), row: "row-123".into() };
        let names = trigger_names(&archived, Action::Update, None);
        assert!(names.iter().any(|n| n == "databases.factory-db.collections.rows-archive.documents.row-123.update"));
        assert!(!names.iter().any(|n| n.contains("documents-archive")));
    }

    #[test]
    fn column_events_have_attribute_twins() {
        let column = Resource::Column { db: "factory-db".into(), table: "assembly".into(), column: "status".into() };
        let names = trigger_names(&column, Action::Create, None);
        assert_eq!(names[0], "databases.factory-db.tables.assembly.columns.status.create");
        assert_eq!(names[1], "databases.factory-db.collections.assembly.attributes.status.create");
        assert_eq!(names.len(), 42);
        assert_unique(&names);
    }

    #[test]
    fn every_resource_yields_unique_names_with_the_concrete_name_first() {
        let resources = [
            Resource::Database { db: "d".into() },
            Resource::Table { db: "d".into(), table: "t".into() },
            Resource::Index { db: "d".into(), table: "t".into(), index: "i".into() },
            row(),
            user(),
            Resource::Session { user: "u".into(), session: "s".into() },
            Resource::Team { team: "t".into() },
            Resource::Function { function: "f".into() },
            Resource::Deployment { function: "f".into(), deployment: "d".into() },
        ];
        for resource in &resources {
            for action in [Action::Create, Action::Update, Action::Upsert, Action::Delete] {
                for kind in [DbKind::TablesDb, DbKind::Legacy] {
                    let names = realtime_names(resource, action, None, kind);
                    assert_unique(&names);
                    let concrete = expand(&resource.pattern(action, None), &resource.params());
                    let first = names.first().map(|n| n.replacen("tablesdb", "databases", 1));
                    assert_eq!(first.as_ref(), concrete.first());
                }
            }
        }
    }

    #[test]
    fn pattern_matching() {
        let row_create = trigger_names(&row(), Action::Create, None);
        assert!(pattern_matches("databases.*.tables.*.rows.*.create", &row_create));
        assert!(pattern_matches("databases.*.collections.*.documents.*.create", &row_create));
        assert!(pattern_matches("databases.main.tables.games", &row_create));
        assert!(!pattern_matches("functions.*", &row_create));
        assert!(!pattern_matches("databases.*.tables.*.rows.*.update", &row_create));
        // Realtime-only prefix: functions never see `tablesdb.` names.
        assert!(!pattern_matches("tablesdb.*.tables.*.rows.*.create", &row_create));

        let user_update = trigger_names(&user(), Action::Update, None);
        assert!(pattern_matches("users.*", &user_update));
        assert!(pattern_matches("users.u1.update", &user_update));
        assert!(!pattern_matches("users.*.create", &user_update));
    }

    #[test]
    fn php_string_semantics() {
        assert_eq!(php_replace("a.b", "", "*"), "a.b");
        assert_eq!(php_params(&[("a", "1"), ("b", "2"), ("a", "3")]), vec![("a", "3"), ("b", "2")]);
        // A missing param leaves the bare placeholder name.
        assert_eq!(expand("users.[userId].create", &[])[0], "users.userId.create");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]
        /// The template path gives exactly what the full expansion gives.
        #[test]
        fn templates_equal_the_exact_expansion(db in "[a-z0-9_.-]{1,8}", table in "[a-z0-9_.-]{1,8}", row in "[a-z0-9_.-]{1,8}", tdb: bool) {
            for resource in [
                Resource::Row { db: db.clone(), table: table.clone(), row: row.clone() },
                Resource::Table { db: db.clone(), table: table.clone() },
                Resource::Column { db: db.clone(), table: table.clone(), column: row.clone() },
                Resource::Membership { team: db.clone(), membership: row.clone() },
            ] {
                for action in [Action::Create, Action::Update, Action::Delete] {
                    let pattern = resource.pattern(action, None);
                    let params = route_params(&resource, action);
                    let exact = mirror(&pattern, expand_parsed(&parsed_for(&pattern, tdb), &php_params(&params)));
                    proptest::prop_assert_eq!(generate(&pattern, &params, tdb), exact);
                }
            }
        }
    }
}

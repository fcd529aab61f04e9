//! Can an unauthenticated client from an arbitrary Internet address relay
//! through an smtpd service to a domain this host does not serve? The
//! rules are smtpd/smtpd_check.c's (Postfix 3.7): `smtpd_check_rcpt`
//! evaluates `smtpd_relay_restrictions` and `smtpd_recipient_restrictions`
//! (only a REJECT stops it, so their order does not matter), each left to
//! right until a restriction returns OK or REJECT; the mail is relayed
//! when neither list rejects, no `defer_if_permit` is pending, and the
//! client, HELO and sender lists did not reject first.
//!
//! tests/relay_differential.rs checks these verdicts against the real
//! smtpd.
//!
//! Each restriction is judged for that client (who chooses its HELO
//! name, envelope sender and recipient, and may present a certificate,
//! but cannot spoof its address and has no credentials): it permits, it
//! rejects, or it decides nothing. A lookup postform cannot see into
//! (`check_client_access hash:...`, `check_policy_service`) decides
//! nothing: it is not counted as a permit.
//!
//! Also here: smtpd's start-up check (`has_required`): a service whose
//! two lists hold no "working instance" of a rejecting restriction makes
//! every smtpd process of that service exit at start (adversarial review
//! H4, H5).

use super::view::View;
use crate::postfix::mastercf::Service;
use crate::postfix::network::Net;
use std::net::IpAddr;

/// `smtpd_check.c` `rcpt_required`: at least one must appear in one of
/// the two lists (start-up check).
const REQUIRED: [&str; 6] = [
    "reject_unauth_destination",
    "defer_unauth_destination",
    "reject",
    "defer",
    "defer_if_permit",
    "check_relay_domains",
];

/// Restrictions that take the next token as their argument.
fn takes_argument(name: &str) -> bool {
    (name.starts_with("check_") && name.ends_with("_access"))
        || matches!(
            name,
            "check_policy_service"
                | "reject_rbl_client"
                | "reject_rbl"
                | "reject_rhsbl_client"
                | "reject_rhsbl_reverse_client"
                | "reject_rhsbl_helo"
                | "reject_rhsbl_sender"
                | "reject_rhsbl_recipient"
                | "permit_dnswl_client"
                | "permit_rhswl_client"
                | "sleep"
        )
}

/// A restriction list as smtpd splits it: commas and whitespace, `{ }`
/// groups one token (smtpd_check_parse).
pub fn tokens(value: &str) -> Vec<String> {
    crate::postfix::list::list_items(value.as_bytes())
        .unwrap_or_default()
        .into_iter()
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect()
}

/// What evaluating a list gives.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// OK: this restriction lets the client through.
    Permit(String),
    Reject,
    Dunno,
}

/// The relay verdict for one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The client relays: the restriction that lets it, and the
    /// parameter it is in.
    Relays { through: String, list: String },
    /// Every such client is refused (or deferred).
    Refuses,
}

/// Which smtpd services accept connections from other hosts, with the
/// reason they do: inet services of command smtpd (or a `pass` smtpd
/// behind a reachable postscreen) that do not listen on loopback only.
pub fn reachable_smtpd_services<'a>(view: &View<'a>) -> Vec<&'a Service> {
    let services = view.services();
    let is_smtpd = |s: &Service| s.command == "smtpd" || s.command.ends_with("/smtpd");
    let postscreen_reachable = services
        .iter()
        .any(|s| s.kind == "inet" && s.command.ends_with("postscreen") && reachable(view, s));
    services
        .iter()
        .filter(|s| is_smtpd(s))
        .filter(|s| match s.kind.as_str() {
            "inet" => reachable(view, s),
            "pass" => postscreen_reachable,
            _ => false,
        })
        .collect()
}

/// An inet service listens beyond loopback (master/master_ent.c
/// MASTER_FLAG_LOCAL_ONLY): a `host:port` name binds to that host; a bare
/// port follows inet_interfaces.
fn reachable(view: &View<'_>, s: &Service) -> bool {
    match s.name.rsplit_once(':') {
        Some((host, _)) if !host.is_empty() => !is_loopback_host(host),
        _ => {
            let interfaces = view
                .value("inet_interfaces", None)
                .unwrap_or_else(|| "all".into());
            let items = tokens(&interfaces);
            items.is_empty()
                || !items
                    .iter()
                    .all(|i| i.eq_ignore_ascii_case("loopback-only") || is_loopback_host(i))
        }
    }
}

fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// The two lists smtpd evaluates for a recipient, as (parameter, tokens):
/// `smtpd_relay_restrictions` (empty below compatibility level 1 when not
/// set: smtpd then uses a list that never rejects) and
/// `smtpd_recipient_restrictions`.
fn lists(view: &View<'_>, s: &Service) -> [(String, Vec<String>); 2] {
    let relay = if view.compat_level(Some(s)) < (1 << 20)
        && view
            .set_value("smtpd_relay_restrictions", Some(s))
            .is_none()
    {
        Vec::new()
    } else {
        tokens(
            &view
                .value("smtpd_relay_restrictions", Some(s))
                .unwrap_or_default(),
        )
    };
    let rcpt = tokens(
        &view
            .value("smtpd_recipient_restrictions", Some(s))
            .unwrap_or_default(),
    );
    [
        ("smtpd_relay_restrictions".into(), relay),
        ("smtpd_recipient_restrictions".into(), rcpt),
    ]
}

/// smtpd's start-up checks for `s`: `false` when every smtpd process of
/// this service would exit (see [`startup_fatal`]).
pub fn passes_startup_check(view: &View<'_>, s: &Service) -> bool {
    startup_fatal(view, s).is_none()
}

/// Why every smtpd process of service `s` exits at start, if it does
/// (smtpd_check_init, in its order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupFatal {
    /// smtpd's `fatal:` message.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// smtpd's start-up checks for `s`, in smtpd_check_init's order: every
/// name in `smtpd_restriction_classes` needs a non-empty value; then
/// `smtpd_relay_restrictions` or `smtpd_recipient_restrictions` must
/// hold a "working instance" of a rejecting restriction (`has_required`).
pub fn startup_fatal(view: &View<'_>, s: &Service) -> Option<StartupFatal> {
    let classes = restriction_classes(view, s);
    if let Some(class) = classes
        .iter()
        .find(|c| view.value(c, Some(s)).is_none_or(|v| v.trim().is_empty()))
    {
        return Some(StartupFatal {
            message: format!("restriction class `{class}' needs a definition"),
            hint: format!(
                "define {class} (a restriction list, e.g. {class} = permit_mynetworks, reject) or remove it from smtpd_restriction_classes"
            ),
        });
    }
    if !lists(view, s)
        .iter()
        .any(|(_, list)| has_required(view, s, list, &classes, 0))
    {
        return Some(StartupFatal {
            message: "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains".into(),
            hint: "end smtpd_relay_restrictions (or smtpd_recipient_restrictions) with reject_unauth_destination; `permit` stops Postfix's search, so put it after, not before".into(),
        });
    }
    None
}

/// `has_required` (smtpd_check.c): a required name before `permit`,
/// skipping the token after `warn_if_reject`, looking into restriction
/// classes (exact case). Argument tokens count too, as in Postfix.
fn has_required(
    view: &View<'_>,
    s: &Service,
    list: &[String],
    classes: &[String],
    depth: usize,
) -> bool {
    if depth > 100 {
        return false;
    }
    let mut i = 0;
    while i < list.len() {
        let t = &list[i];
        if t.eq_ignore_ascii_case("warn_if_reject") && i + 1 < list.len() {
            i += 2;
            continue;
        }
        if t.eq_ignore_ascii_case("permit") {
            return false;
        }
        if REQUIRED.iter().any(|r| t.eq_ignore_ascii_case(r)) {
            return true;
        }
        if classes.contains(t) {
            let inner = tokens(&view.value(t, Some(s)).unwrap_or_default());
            if has_required(view, s, &inner, classes, depth + 1) {
                return true;
            }
        }
        i += 1;
    }
    false
}

fn restriction_classes(view: &View<'_>, s: &Service) -> Vec<String> {
    tokens(
        &view
            .value("smtpd_restriction_classes", Some(s))
            .unwrap_or_default(),
    )
}

/// The lists smtpd evaluates before the recipient ones: (parameter, the
/// access check a bare `type:table` stands for, what is known when the
/// list runs at its own command).
const EARLIER_LISTS: [(&str, &str, Known); 3] = [
    (
        "smtpd_client_restrictions",
        "check_client_access",
        Known::Client,
    ),
    ("smtpd_helo_restrictions", "check_helo_access", Known::Helo),
    (
        "smtpd_sender_restrictions",
        "check_sender_access",
        Known::Sender,
    ),
];

/// The relay verdict for service `s` (see the module docs).
pub fn verdict(view: &View<'_>, s: &Service) -> Verdict {
    let classes = restriction_classes(view, s);
    let helo_required = view.flag("smtpd_helo_required", Some(s));
    let mut cx = Eval {
        view,
        service: s,
        classes: &classes,
        defer_if_permit: false,
        default_acl: "check_recipient_access",
        known: Known::Recipient,
        helo_optional: !helo_required,
    };
    // The client, HELO and sender lists can only refuse (their permits
    // end their own list, never the recipient lists), and their
    // defer_if_permit counts at RCPT time (smtpd_check_rcpt). With
    // smtpd_delay_reject = yes (the default) smtpd runs them at RCPT time
    // with everything known; with no, each at its own command, where
    // restrictions on what is not known yet are skipped. The HELO list
    // runs only when HELO was given: when smtpd_helo_required is off, the
    // client just does not send one (a rejected HELO does not stop MAIL).
    let delay = view.flag("smtpd_delay_reject", Some(s));
    for (param, acl, stage) in EARLIER_LISTS {
        if stage == Known::Helo && !helo_required {
            continue;
        }
        cx.default_acl = acl;
        cx.known = if delay { Known::Recipient } else { stage };
        let list = tokens(&view.value(param, Some(s)).unwrap_or_default());
        if cx.eval(&list, false, 0) == Outcome::Reject {
            return Verdict::Refuses;
        }
    }
    cx.default_acl = "check_recipient_access";
    cx.known = Known::Recipient;
    let mut through = None;
    for (name, list) in lists(view, s) {
        match cx.eval(&list, false, 0) {
            Outcome::Reject => return Verdict::Refuses,
            Outcome::Permit(by) => {
                through.get_or_insert((by, name));
            }
            Outcome::Dunno => {}
        }
    }
    if cx.defer_if_permit {
        return Verdict::Refuses;
    }
    match through {
        Some((through, list)) => Verdict::Relays { through, list },
        // Both lists end without a decision: smtpd accepts the recipient
        // (nothing rejected it). With the start-up check passed this
        // means a rejecting restriction is never reached for this
        // client... which cannot happen without a permit before it.
        None => Verdict::Relays {
            through: "no restriction rejects the recipient".into(),
            list: "smtpd_relay_restrictions and smtpd_recipient_restrictions".into(),
        },
    }
}

struct Eval<'a, 'v> {
    view: &'a View<'v>,
    service: &'a Service,
    classes: &'a [String],
    defer_if_permit: bool,
    /// The access check a bare `type:table` stands for in the list being
    /// evaluated (`check_recipient_access` in the two recipient lists).
    default_acl: &'static str,
    /// What smtpd knows when it evaluates the list: a restriction on
    /// something later (the recipient, at MAIL time) is skipped.
    known: Known,
    /// The client need not send HELO (smtpd_helo_required = no), and
    /// restrictions on the HELO name are skipped without one: a client
    /// avoids their rejections (but can still use their permits).
    helo_optional: bool,
}

/// The SMTP stage a restriction needs, and what smtpd knows when it
/// evaluates a list (in protocol order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Known {
    Client,
    Helo,
    Sender,
    Recipient,
}

/// What restriction `name` looks at (smtpd_check.c skips it, DUNNO,
/// before that is known: `if (state->recipient)`...).
fn needs(name: &str) -> Known {
    match name {
        "reject_unauth_destination"
        | "defer_unauth_destination"
        | "check_relay_domains"
        | "permit_auth_destination"
        | "permit_mx_backup" => Known::Recipient,
        n if n.starts_with("check_recipient_") => Known::Recipient,
        n if n.starts_with("check_sender_") => Known::Sender,
        "permit_naked_ip_address" => Known::Helo,
        n if n.starts_with("check_helo_") => Known::Helo,
        _ => Known::Client,
    }
}

impl Eval<'_, '_> {
    /// `generic_checks`: left to right until OK or REJECT.
    fn eval(&mut self, list: &[String], warn: bool, depth: usize) -> Outcome {
        if depth > 100 {
            return Outcome::Reject;
        }
        let mut i = 0;
        let mut warn_next = false;
        while i < list.len() {
            let original = &list[i];
            // A bare `type:table` is short for the list's own access
            // check on that table (generic_checks: `strchr(name, ':')`).
            let (name, arg) = if original.contains(':') {
                (self.default_acl.to_string(), Some(original))
            } else {
                let name = original.to_ascii_lowercase();
                let arg = takes_argument(&name).then(|| list.get(i + 1)).flatten();
                (name, arg)
            };
            i += 1 + usize::from(arg.is_some() && !original.contains(':'));
            if name == "warn_if_reject" {
                warn_next = true;
                continue;
            }
            let in_warn = warn || std::mem::take(&mut warn_next);
            let outcome = self.restriction(original, &name, arg, in_warn, depth);
            match outcome {
                // warn_if_reject turns a policy reject into a warning.
                Outcome::Reject if in_warn => {}
                Outcome::Dunno => {}
                decided => return decided,
            }
        }
        Outcome::Dunno
    }

    fn restriction(
        &mut self,
        original: &str,
        name: &str,
        arg: Option<&String>,
        warn: bool,
        depth: usize,
    ) -> Outcome {
        let needs = needs(name);
        if needs > self.known {
            return Outcome::Dunno;
        }
        let outcome = self.decide(original, name, arg, warn, depth);
        if needs == Known::Helo && self.helo_optional && outcome == Outcome::Reject {
            return Outcome::Dunno;
        }
        outcome
    }

    /// What restriction `name` (with its argument) does for the client.
    fn decide(
        &mut self,
        original: &str,
        name: &str,
        arg: Option<&String>,
        warn: bool,
        depth: usize,
    ) -> Outcome {
        let permit = || {
            Outcome::Permit(match arg {
                Some(a) => format!("{name} {a}"),
                None => name.to_string(),
            })
        };
        match name {
            "permit" => permit(),
            "reject"
            | "defer"
            | "reject_unauth_destination"
            | "defer_unauth_destination"
            | "check_relay_domains" => Outcome::Reject,
            "defer_if_permit" => {
                if !warn {
                    self.defer_if_permit = true;
                }
                Outcome::Dunno
            }
            "permit_mynetworks" => {
                if mynetworks_cover_the_internet(self.view, self.service) {
                    permit()
                } else {
                    Outcome::Dunno
                }
            }
            // Needs credentials the client does not have.
            "permit_sasl_authenticated"
            | "permit_tls_clientcerts"
            | "permit_auth_destination"
            | "permit_inet_interfaces"
            | "permit_dnswl_client"
            | "permit_rhswl_client" => Outcome::Dunno,
            // Any certificate from a CA the server trusts: the client can
            // get one when the server asks for certificates and trusts
            // any CA at all (postform cannot tell a private one).
            "permit_tls_all_clientcerts" => {
                let v = self.view;
                let s = Some(self.service);
                let asks = v.flag("smtpd_tls_ask_ccert", s) || v.flag("smtpd_tls_req_ccert", s);
                let trusts = v
                    .value("smtpd_tls_CAfile", s)
                    .is_some_and(|f| !f.trim().is_empty())
                    || v.value("smtpd_tls_CApath", s)
                        .is_some_and(|f| !f.trim().is_empty())
                    || v.flag("tls_append_default_CA", s);
                let tls = !matches!(
                    v.value("smtpd_tls_security_level", s)
                        .as_deref()
                        .map(str::trim),
                    None | Some("") | Some("none")
                ) || v.flag("smtpd_use_tls", s)
                    || v.flag("smtpd_tls_wrappermode", s);
                if asks && trusts && tls {
                    permit()
                } else {
                    Outcome::Dunno
                }
            }
            // The client chooses its HELO name: a bare address is free.
            "permit_naked_ip_address" => permit(),
            n if n.starts_with("check_") && n.ends_with("_access") => match arg {
                Some(table) => self.table(n, table, warn, depth),
                None => Outcome::Reject,
            },
            _ if self.classes.iter().any(|c| c == original) => {
                let inner = tokens(
                    &self
                        .view
                        .value(original, Some(self.service))
                        .unwrap_or_default(),
                );
                self.eval(&inner, warn, depth + 1)
            }
            n if is_known_restriction(n) => Outcome::Dunno,
            // An unknown name: smtpd answers "451 Server configuration
            // error" to everyone who reaches it.
            _ => Outcome::Reject,
        }
    }

    /// An access table: a `static:` answer is known; `inline:` tables of
    /// the lookups the client controls (HELO, sender) permit when any
    /// entry says OK; any other table decides nothing here.
    fn table(&mut self, name: &str, table: &str, warn: bool, depth: usize) -> Outcome {
        let never_ok = name.ends_with("_mx_access")
            || name.ends_with("_ns_access")
            || name.ends_with("_a_access");
        if let Some(result) = table.strip_prefix("static:") {
            let outcome = self.action(result, warn, depth, || format!("{name} {table}"));
            return match outcome {
                Outcome::Permit(_) if never_ok => Outcome::Reject,
                other => other,
            };
        }
        let attacker_chosen = matches!(name, "check_helo_access" | "check_sender_access");
        if attacker_chosen && !never_ok {
            if let Some(body) = table
                .strip_prefix("inline:")
                .map(|b| b.trim().trim_start_matches('{').trim_end_matches('}'))
            {
                for item in tokens(body) {
                    let value = item.split_once('=').map(|(_, v)| v.trim()).unwrap_or("");
                    if let Outcome::Permit(_) = self.action(value, warn, depth, String::new) {
                        return Outcome::Permit(format!("{name} {table}"));
                    }
                }
            }
        }
        Outcome::Dunno
    }

    /// An access-table result (check_table_result).
    fn action(
        &mut self,
        result: &str,
        warn: bool,
        depth: usize,
        why: impl Fn() -> String,
    ) -> Outcome {
        let r = result.trim();
        let word = r
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match word.as_str() {
            "" | "OK" | "RELAY" => Outcome::Permit(why()),
            w if w.bytes().all(|b| b.is_ascii_digit()) && w.len() != 3 => Outcome::Permit(why()),
            "REJECT" | "DEFER" => Outcome::Reject,
            w if w.len() == 3 && (w.starts_with('4') || w.starts_with('5')) => Outcome::Reject,
            "DEFER_IF_PERMIT" => {
                if !warn {
                    self.defer_if_permit = true;
                }
                Outcome::Dunno
            }
            "DUNNO" | "WARN" | "INFO" | "HOLD" | "FILTER" | "REDIRECT" | "BCC" | "PREPEND"
            | "DEFER_IF_REJECT" | "DISCARD" | "HANGUP" => Outcome::Dunno,
            _ if r.contains(':') && !r.contains(' ') => Outcome::Reject,
            // Anything else is a restriction list.
            _ => self.eval(&tokens(r), warn, depth + 1),
        }
    }
}

/// Restrictions smtpd knows that never permit this client (they reject,
/// defer, or pass).
fn is_known_restriction(n: &str) -> bool {
    n.starts_with("reject_")
        || n.starts_with("defer_")
        || n.starts_with("permit_")
        || matches!(
            n,
            "sleep" | "check_policy_service" | "check_recipient_maps" | "warn_if_reject"
        )
}

/// Does `mynetworks` (for this service, expanded) trust an arbitrary
/// Internet address? Postfix matches the list first-match-wins with `!`
/// negation, up to a word starting with `#` (util/match_list.c). It does when, for some /8 of the IPv4
/// unicast space that is not reserved as a whole (0/8, 10/8, 127/8 and
/// 224/3 are), the first network pattern that contains all of that /8 is
/// positive; or when a positive IPv6 pattern shorter than /32 that no
/// earlier negation contains overlaps the global unicast space 2000::/3.
/// Smaller networks (a /16 of one's own) are somebody's, not anybody's.
pub fn mynetworks_cover_the_internet(view: &View<'_>, s: &Service) -> bool {
    let Some(value) = view.value("mynetworks", Some(s)) else {
        return false;
    };
    // match_list stops at a word that starts with `#` ("comment at end of
    // line is not supported"): nothing after it is in the list.
    let nets: Vec<(bool, Option<Net>)> = tokens(&value)
        .iter()
        .take_while(|item| !item.starts_with('#'))
        .map(|item| {
            let negated = item.starts_with('!');
            (negated, Net::parse(item.trim_start_matches('!')).ok())
        })
        .collect();
    let v4_block = (1u32..224).filter(|a| !matches!(a, 10 | 127)).any(|a| {
        let block = Net::V4(a << 24, 8);
        nets.iter()
            .find(|(_, n)| n.as_ref().is_some_and(|n| n.contains(&block)))
            .is_some_and(|(negated, _)| !negated)
    });
    let global6 = Net::V6(0x2000u128 << 112, 3);
    let v6_block = nets.iter().enumerate().any(|(i, (negated, n))| {
        let Some(n @ Net::V6(_, len)) = n else {
            return false;
        };
        !negated
            && *len < 32
            && (n.contains(&global6) || global6.contains(n))
            && !nets[..i]
                .iter()
                .any(|(neg, m)| *neg && m.as_ref().is_some_and(|m| m.contains(n)))
    });
    v4_block || v6_block
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covers(mynetworks: &str) -> bool {
        let main = crate::postfix::maincf::MainCf::parse(
            format!("compatibility_level = 3.6\nmynetworks = {mynetworks}\n").as_bytes(),
        )
        .unwrap();
        let view = View::new(&main, None, crate::catalog::Catalog::builtin());
        mynetworks_cover_the_internet(&view, &Service::default())
    }

    /// The verdict for Debian's `smtp inet` service under this main.cf.
    fn relays(main_cf: &str) -> bool {
        let main = crate::postfix::maincf::MainCf::parse(
            format!("compatibility_level = 3.6\n{main_cf}").as_bytes(),
        )
        .unwrap();
        let master =
            crate::postfix::mastercf::MasterCf::parse(b"smtp inet n - y - - smtpd\n").unwrap();
        let view = View::new(&main, Some(&master), crate::catalog::Catalog::builtin());
        matches!(verdict(&view, &master.services[0]), Verdict::Relays { .. })
    }

    #[test]
    fn a_bare_table_is_the_lists_own_access_check() {
        // Relay differential case relay-bare-static-ok: smtpd reads
        // `static:OK` in a recipient list as `check_recipient_access
        // static:OK` and relays.
        assert!(relays("smtpd_relay_restrictions = static:OK, reject\n"));
        assert!(!relays(
            "smtpd_relay_restrictions = static:REJECT, permit\n"
        ));
        assert!(!relays(
            "smtpd_relay_restrictions = hash:/etc/postfix/relay, reject\n"
        ));
    }

    #[test]
    fn client_helo_and_sender_lists_can_refuse() {
        // Relay differential cases client-*, helo-*, sender-*,
        // defer-if-permit-in-client-list: the real smtpd's answers.
        let open = "smtpd_relay_restrictions = check_client_access static:OK, reject\n";
        assert!(relays(open));
        for (extra, relayed) in [
            ("smtpd_client_restrictions = reject", false),
            ("smtpd_client_restrictions = static:REJECT", false),
            ("smtpd_client_restrictions = defer_if_permit", false),
            ("smtpd_client_restrictions = permit", true),
            (
                "smtpd_client_restrictions = reject_unauth_destination",
                false,
            ),
            // At connect time there is no recipient yet: skipped.
            (
                "smtpd_client_restrictions = reject_unauth_destination\nsmtpd_delay_reject = no",
                true,
            ),
            (
                "smtpd_client_restrictions = reject\nsmtpd_delay_reject = no",
                false,
            ),
            // The client does not send HELO (or ignores its rejection).
            ("smtpd_helo_restrictions = reject", true),
            (
                "smtpd_helo_restrictions = reject\nsmtpd_delay_reject = no",
                true,
            ),
            (
                "smtpd_client_restrictions = check_helo_access static:REJECT",
                true,
            ),
            (
                "smtpd_helo_restrictions = reject\nsmtpd_helo_required = yes",
                false,
            ),
            ("smtpd_sender_restrictions = reject", false),
            (
                "smtpd_sender_restrictions = reject\nsmtpd_delay_reject = no",
                false,
            ),
        ] {
            assert_eq!(relays(&format!("{open}{extra}\n")), relayed, "{extra}");
        }
    }

    #[test]
    fn a_restriction_class_needs_a_definition() {
        // Relay differential case class-without-definition: smtpd exits
        // with "restriction class `missing' needs a definition".
        let fatal = |main_cf: &str| {
            let main = crate::postfix::maincf::MainCf::parse(
                format!("compatibility_level = 3.6\n{main_cf}").as_bytes(),
            )
            .unwrap();
            let master =
                crate::postfix::mastercf::MasterCf::parse(b"smtp inet n - y - - smtpd\n").unwrap();
            let view = View::new(&main, Some(&master), crate::catalog::Catalog::builtin());
            startup_fatal(&view, &master.services[0]).map(|f| f.message)
        };
        assert_eq!(
            fatal("smtpd_restriction_classes = guard, missing\nguard = reject\n"),
            Some("restriction class `missing' needs a definition".into())
        );
        assert_eq!(
            fatal("smtpd_restriction_classes = empty\nempty =\n"),
            Some("restriction class `empty' needs a definition".into())
        );
        assert_eq!(
            fatal("smtpd_restriction_classes = guard\nguard = reject\n"),
            None
        );
    }

    #[test]
    fn mynetworks_that_trust_the_internet() {
        for open in [
            "0.0.0.0/0",
            "127.0.0.0/8 0.0.0.0/1 128.0.0.0/1",
            "203.0.0.0/8",
            "[::]/0",
            "[2000::]/3",
            "!10.0.0.0/8 0.0.0.0/0",
        ] {
            assert!(covers(open), "{open}");
        }
        for closed in [
            "127.0.0.0/8 [::1]/128",
            "10.0.0.0/8 192.168.0.0/16",
            "203.0.113.0/24",
            "8.8.0.0/16",
            "!0.0.0.0/0 0.0.0.0/0",
            "0/0",
            "[fc00::]/7",
            "[2001:db8::]/32",
            "hash:/etc/postfix/network_table",
            // The real smtpd ignores everything from `#` on (relay differential
            // case mynetworks-comment-stops-list).
            "127.0.0.0/8 # 0.0.0.0/0",
            "127.0.0.0/8 #0.0.0.0/0",
        ] {
            assert!(!covers(closed), "{closed}");
        }
    }
}

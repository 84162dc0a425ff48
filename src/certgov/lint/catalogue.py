"""The lint rules: id, name, default level and the text people read (in our own words)."""

from __future__ import annotations

from certgov.lint.model import RuleInfo

EXPIRY_WARNING_DAYS = 30
MAX_ROTATE_AFTER_DAYS = 365
MAX_DOMAIN_PATTERNS = 20
WIDEST_IPV4_PREFIX = 8
WIDEST_IPV6_PREFIX = 32
# Single addresses that fit in a range this narrow are worth writing as that range.
SUGGEST_IPV4_PREFIX = 24
SUGGEST_IPV6_PREFIX = 64

RULES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "CG001",
        "AdminScope",
        "warning",
        "A service account holds the admin scope.",
        "admin includes write and read and can manage every service account, so a leaked admin"
        " secret hands over the whole tenant. Keep admin for the automation that administers"
        " accounts; give pipelines that manage policies write, and validation jobs read.",
    ),
    RuleInfo(
        "CG002",
        "NoExpiry",
        "warning",
        "A service account has no expires_at.",
        "An account without an expiry keeps working after the project or team behind it is"
        " gone. Set expires_at to the date the integration should be reviewed; the platform"
        " refuses expired accounts without anyone having to remember them.",
    ),
    RuleInfo(
        "CG003",
        "EmptyIpAllowlist",
        "warning",
        "A service account's ip_allowlist is empty, which admits every address.",
        "With an empty allowlist a stolen secret works from anywhere. List the addresses or"
        " CIDR ranges the calling system uses, so that a leaked credential is useless elsewhere.",
    ),
    RuleInfo(
        "CG004",
        "AddressesInsteadOfRange",
        "note",
        "An ip_allowlist lists several single addresses that one CIDR range would cover.",
        "A range is easier to read and review than a run of neighbouring addresses, and it does"
        " not need an edit when the caller moves to the next address in the same block. The"
        " message names the smallest covering range and how many more addresses it admits.",
    ),
    RuleInfo(
        "CG005",
        "AllowlistTooWide",
        "error",
        "An ip_allowlist holds 0.0.0.0/0, ::/0 or a range wider than /8 (IPv4) or /32 (IPv6).",
        "A range that wide restricts almost nothing while looking like a restriction. Replace it"
        " with the ranges the caller really uses; IPv6 is held to /32, the size of a whole"
        " provider's allocation, since a /8 there would be meaningless.",
    ),
    RuleInfo(
        "CG006",
        "SecretStoreMissingOrLocal",
        "warning",
        "A service account has no secret.store, or its store is a file store outside local use.",
        "Without a store, certgov has nowhere to put a new or rotated secret, so it cannot"
        " rotate. A file store keeps secrets in plain files next to the declarations; that is"
        " fine against a server on this machine (server: unset or a loopback address) but"
        " not for a shared tenant, where a secrets manager (vault, aws, command) belongs.",
    ),
    RuleInfo(
        "CG007",
        "RotationMissingOrLong",
        "warning",
        "A service account has no secret.rotate_after, or one longer than 365 days.",
        "A secret that never changes stays valid for as long as it sits in a log, a laptop or"
        " a former colleague's notes. Set rotate_after (for example 90d) so that plan and"
        " apply regenerate it on schedule.",
    ),
    RuleInfo(
        "CG008",
        "SharedIntegration",
        "warning",
        "Two service accounts share a secret path, or look like one integration split in two.",
        "Two accounts writing to one secret path overwrite each other's credentials. Two"
        " accounts with the same scopes, allowlist and description suggest one integration"
        " with two identities, or two integrations sharing one purpose; give each system its"
        " own account and say in the description what it is for.",
    ),
    RuleInfo(
        "CG009",
        "PolicyWithoutTests",
        "warning",
        "An enabled policy declares no tests.",
        "Tests are certificate requests with the expected outcome; plan proves them against the"
        " server's dry run before anything changes. An enabled policy without them can block"
        " legitimate requests the day it is applied. Add at least one passing and one refused"
        " request.",
    ),
    RuleInfo(
        "CG010",
        "HardRuleWithoutRollout",
        "warning",
        "A new hard rule has no rollout settings.",
        "A rule that starts hard blocks requests at once, before anyone has seen what it would"
        " have blocked. Give new hard rules a rollout (start soft, promote after a quiet period)"
        " so they warn first. A rule counts as new when the policy at the base git ref (--base,"
        " HEAD by default) does not have it.",
    ),
    RuleInfo(
        "CG011",
        "BroadDomains",
        "warning",
        "A blocking policy covers a whole registrable domain, or lists too many patterns.",
        "A wildcard at the top of a registrable domain (*.example.com) puts every name the"
        " organisation owns under the policy's hard rules, including ones nobody thought of."
        " Scope the patterns to the names the policy is meant for. Over 20 patterns usually"
        " means several policies folded into one.",
    ),
    RuleInfo(
        "CG012",
        "SecretInRepository",
        "error",
        "A tracked file holds text that looks like a client secret.",
        "Anyone who can read the repository, or any of its clones and forks, can use a"
        " committed secret, and it stays in the history after the file is changed. Remove it,"
        " regenerate the account's secret, and keep secrets in a secret store only. The value"
        " is masked in this report.",
    ),
    RuleInfo(
        "CG013",
        "ExpiresSoon",
        "warning",
        "A service account expires within 30 days, or has expired.",
        "When an account expires its integration stops at once. Extend expires_at after"
        " review, or move the integration to its replacement before the date.",
    ),
    RuleInfo(
        "CG014",
        "ShadowedPolicy",
        "warning",
        "A policy's domains are all covered by another policy with the same action and rules"
        " at least as strict.",
        "Every matching policy is evaluated and the strictest outcome wins, so a policy whose"
        " names are all governed by a stricter one never changes a result. Remove it, or make"
        " it differ on purpose.",
    ),
    RuleInfo(
        "CG015",
        "BadSuppression",
        "warning",
        "An inline `# certgov: ignore` comment names no known rule or gives no reason.",
        "A suppression hides a finding from everyone who reads the report later, so it has to"
        " say why. Write `# certgov: ignore CG001 <reason>`; until then it suppresses nothing.",
    ),
)

BY_ID: dict[str, RuleInfo] = {rule.id: rule for rule in RULES}

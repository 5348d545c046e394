-- +goose Up
-- Emergency plans (结构化预案): one row per version; plan_id names the plan across versions.
-- The structured sections are JSON text in content. At most one version of a plan is
-- published and at most one is open (draft or under review) at a time.
CREATE TABLE plans (
    id             TEXT PRIMARY KEY,
    plan_id        TEXT NOT NULL,
    version        INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('draft', 'review', 'published', 'retired')),
    code           TEXT NOT NULL DEFAULT '',
    title          TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('comprehensive', 'special', 'onsite')),
    level          TEXT NOT NULL CHECK (level IN ('city', 'district', 'township', 'enterprise')),
    org_unit_id    TEXT NOT NULL DEFAULT '',
    enterprise_id  TEXT NOT NULL DEFAULT '',
    org_path       TEXT COLLATE "C" NOT NULL,
    content        TEXT NOT NULL DEFAULT '{}',
    author_id      TEXT NOT NULL DEFAULT '',
    author_name    TEXT NOT NULL DEFAULT '',
    editor_id      TEXT NOT NULL DEFAULT '',
    submitted_at   TIMESTAMPTZ,
    reviewer_id    TEXT NOT NULL DEFAULT '',
    reviewer_name  TEXT NOT NULL DEFAULT '',
    review_comment TEXT NOT NULL DEFAULT '',
    published_at   TIMESTAMPTZ,
    retired_at     TIMESTAMPTZ,
    retired_reason TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (plan_id, version)
);
CREATE UNIQUE INDEX plans_one_published ON plans (plan_id) WHERE status = 'published';
CREATE UNIQUE INDEX plans_one_open ON plans (plan_id) WHERE status IN ('draft', 'review');
CREATE INDEX plans_org_path ON plans (org_path);
CREATE INDEX plans_enterprise ON plans (enterprise_id);

-- The knowledge base (应急知识库): laws and regulations, standards, accident cases and MSDS
-- sheets of hazardous chemicals (their fields as JSON text in msds).
CREATE TABLE knowledge (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('law', 'standard', 'case', 'msds')),
    title       TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    issuer      TEXT NOT NULL DEFAULT '',
    issued_on   TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    cas         TEXT NOT NULL DEFAULT '',
    un          TEXT NOT NULL DEFAULT '',
    msds        TEXT NOT NULL DEFAULT 'null',
    tags        TEXT NOT NULL DEFAULT '[]',
    attachments TEXT NOT NULL DEFAULT '[]',
    org_path    TEXT COLLATE "C" NOT NULL,
    updated_by  TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX knowledge_kind ON knowledge (kind);
CREATE INDEX knowledge_cas ON knowledge (cas);

-- The emergency directory (应急通讯录) phones read offline: users and enterprise contacts
-- with a phone, by department and post, refreshed from those tables.
CREATE TABLE directory (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL CHECK (source IN ('user', 'contact')),
    name          TEXT NOT NULL,
    department    TEXT NOT NULL DEFAULT '',
    post          TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    org_path      TEXT COLLATE "C" NOT NULL,
    enterprise_id TEXT NOT NULL DEFAULT '',
    digest        TEXT NOT NULL DEFAULT '',
    updated_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX directory_org_path ON directory (org_path);

-- The full-text index of published plans and the knowledge base (package bigram): one small
-- row per document (title and scope), its text apart (read only for the hits shown and for
-- words longer than one term), and one row per (term, document) with the term's weight.
CREATE TABLE search_docs (
    kind          TEXT NOT NULL,
    doc_id        TEXT NOT NULL,
    ref_id        TEXT NOT NULL DEFAULT '',
    title         TEXT NOT NULL,
    org_path      TEXT COLLATE "C" NOT NULL DEFAULT '',
    enterprise_id TEXT NOT NULL DEFAULT '',
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, doc_id)
);
CREATE TABLE search_texts (
    kind   TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    body   TEXT NOT NULL,
    norm   TEXT NOT NULL,
    PRIMARY KEY (kind, doc_id)
);
-- Uncompressed out-of-line storage: a search reads the folded text of many candidates, and
-- decompressing each costs more than the bytes it saves.
ALTER TABLE search_texts ALTER COLUMN norm SET STORAGE EXTERNAL;
CREATE TABLE search_terms (
    kind   TEXT NOT NULL,
    term   TEXT COLLATE "C" NOT NULL,
    doc_id TEXT NOT NULL,
    weight INTEGER NOT NULL,
    PRIMARY KEY (kind, term, doc_id)
);
CREATE INDEX search_terms_doc ON search_terms (kind, doc_id);

-- +goose Down
DROP TABLE search_terms;
DROP TABLE search_texts;
DROP TABLE search_docs;
DROP TABLE directory;
DROP TABLE knowledge;
DROP TABLE plans;

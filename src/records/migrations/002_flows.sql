-- Published flow versions are immutable: a running call keeps the version it started with.
CREATE TABLE IF NOT EXISTS flow_versions (
  flow_id    text        NOT NULL,
  version    integer     NOT NULL CHECK (version > 0),
  body       jsonb       NOT NULL,
  author     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (flow_id, version)
);

-- The version new calls get; rollback points it at an older one.
CREATE TABLE IF NOT EXISTS flow_active (
  flow_id    text        PRIMARY KEY,
  version    integer     NOT NULL,
  changed_by text        NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (flow_id, version) REFERENCES flow_versions (flow_id, version)
);

-- Dialed number -> flow. Seeded from ivr-flows/numbers.json; the API changes it at run time.
CREATE TABLE IF NOT EXISTS flow_numbers (
  number     text        PRIMARY KEY,
  flow_id    text        NOT NULL,
  changed_by text        NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);

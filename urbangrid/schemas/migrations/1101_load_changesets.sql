-- Load change sets (入库变更记录): who loaded which file when, what it changed.
--
-- One load_changeset row per applied survey load; one load_change row per feature
-- it changed, moved or removed, and one per block of up to 10,000 features it only
-- added (their keys and file rows in `fields`; loaders.changeset.read_changes gives
-- the one-row-per-feature view), so a change set can be listed, audited and rolled
-- back (urbangrid/loaders/changeset.py). History layers keep the old
-- versions themselves; for layers without history `before` holds the row as it
-- was (attributes + WKB hex), which is what a rollback restores.
CREATE TABLE load_changeset (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    changeset_id TEXT NOT NULL,     -- uuid4 hex
    target TEXT NOT NULL,           -- components | streets | grids | work-grids | places
    layer TEXT NOT NULL,            -- store layer written
    file_name TEXT NOT NULL,        -- the survey file (with layer for multi-layer files)
    file_sha256 TEXT NOT NULL,
    mapping TEXT,                   -- field mapping used (name or path)
    loaded_by TEXT NOT NULL,        -- OS user, or who the caller says
    loaded_at DATETIME NOT NULL,    -- also valid_from / valid_to of the versions written
    n_added INTEGER NOT NULL,
    n_changed INTEGER NOT NULL,
    n_moved INTEGER NOT NULL,
    n_removed INTEGER NOT NULL,
    n_unchanged INTEGER NOT NULL,
    n_set_aside INTEGER NOT NULL,   -- bad rows left out under on_invalid="skip"
    status TEXT NOT NULL CHECK (status IN ('applied', 'rolled_back')),
    rolled_back_at DATETIME,
    rolled_back_by TEXT,
    options JSON                    -- crs, encoding, coverage … as decided for the load
);
-- @layer load_changeset key=changeset_id

CREATE INDEX load_changeset_layer_idx ON load_changeset (layer);

CREATE TABLE load_change (
    fid INTEGER PRIMARY KEY AUTOINCREMENT,
    changeset_id TEXT NOT NULL,
    feature_key TEXT NOT NULL,      -- value of the layer key (component_id, edge_id …)
    action TEXT NOT NULL CHECK (action IN ('added', 'changed', 'moved', 'removed')),
    file_row INTEGER,               -- 1-based record number in the file
    fields JSON,                    -- changed fields: {"status": ["完好", "破损"], …}
    distance_m DOUBLE,              -- how far the geometry moved, metres
    before JSON                     -- layers without history: the row before the change
);
-- @layer load_change

CREATE INDEX load_change_changeset_idx ON load_change (changeset_id);
CREATE INDEX load_change_key_idx ON load_change (feature_key);

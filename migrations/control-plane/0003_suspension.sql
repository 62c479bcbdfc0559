-- A suspended tenant keeps its data, but its instance is stopped and its host
-- names show the maintenance page. Orthogonal to the provisioning status: a
-- ready tenant can be suspended and resumed.
ALTER TABLE tenants ADD COLUMN suspended_at BIGINT;
ALTER TABLE tenants ADD COLUMN suspended_reason TEXT;

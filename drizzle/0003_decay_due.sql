ALTER TABLE `iocs` ADD `decay_due_at` integer;--> statement-breakpoint
ALTER TABLE `iocs` ADD `decay_on_sighting` integer DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX `iocs_decay_due` ON `iocs` (`decay_due_at`);--> statement-breakpoint
-- New evidence makes the decay step evaluate the IOC in the cycle that recorded it (see iocs.decay_due_at).
CREATE TRIGGER `sightings_new_evidence` AFTER INSERT ON `sightings`
BEGIN
  UPDATE `iocs` SET `decay_due_at` = 0 WHERE `id` = NEW.`ioc_id`;
END;--> statement-breakpoint
CREATE TRIGGER `sightings_changed_evidence` AFTER UPDATE OF `tags`, `confidence` ON `sightings`
WHEN OLD.`tags` IS NOT NEW.`tags` OR OLD.`confidence` IS NOT NEW.`confidence`
BEGIN
  UPDATE `iocs` SET `decay_due_at` = 0 WHERE `id` = NEW.`ioc_id`;
END;

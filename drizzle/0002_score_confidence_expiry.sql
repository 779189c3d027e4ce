ALTER TABLE `scores` ADD `confidence` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `scores` ADD `expires_at` integer;
CREATE TABLE `stored_responses` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`response` text NOT NULL,
	`items` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` integer NOT NULL,
	CONSTRAINT "stored_responses_response_object" CHECK(json_valid("stored_responses"."response") AND json_type("stored_responses"."response") = 'object'),
	CONSTRAINT "stored_responses_items_array" CHECK(json_valid("stored_responses"."items") AND json_type("stored_responses"."items") = 'array')
);
--> statement-breakpoint
CREATE INDEX `stored_responses_expires_at` ON `stored_responses` (`expires_at`);
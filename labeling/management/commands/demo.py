"""`manage.py demo`: create the demo project (once) and print how to log in."""
from django.core.management.base import BaseCommand

from labeling.services.demo import demo_project_create


class Command(BaseCommand):
    help = "Create the demo project with users for every role, 30 traces and some labels."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7, help="Seed of the simulated annotators.")

    def handle(self, *args, seed: int, **options):
        result = demo_project_create(seed=seed)
        project = result.project
        verb = "Created" if result.created else "Found existing"
        self.stdout.write(self.style.SUCCESS(f"{verb} demo project '{project.name}' ({project.slug})."))
        self.stdout.write(
            f"  {project.traces.count()} traces, "
            f"{project.traces.filter(step_labels__isnull=False).distinct().count()} with labels."
        )
        self.stdout.write("Log in at http://127.0.0.1:8000/ as:")
        for username, password, role in result.users:
            self.stdout.write(f"  {username:<8} password {password:<12} {role or 'admin (Django admin at /admin/)'}")

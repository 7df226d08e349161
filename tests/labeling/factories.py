"""factory_boy factories, one per model, valid by default."""
import hashlib

import factory

from labeling import models


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-secret-123")


class TraceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Trace
        skip_postgeneration_save = True

    problem = factory.Sequence(lambda n: f"Problem {n}: what is {n} + {n}?")
    final_answer = "42"
    content_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.problem.encode()).hexdigest())
    step_count = 0

    @factory.post_generation
    def steps(self, create, extracted, **kwargs):
        """Pass steps=["a", "b"] or steps=N to create the trace's steps."""
        if not create or extracted is None:
            return
        if isinstance(extracted, int):
            texts = [f"Step {i + 1}: compute part {i + 1}." for i in range(extracted)]
        else:
            texts = extracted
        models.Step.objects.bulk_create(
            models.Step(trace=self, index=i, text=t) for i, t in enumerate(texts)
        )
        self.step_count = len(texts)
        self.save(update_fields=["step_count"])

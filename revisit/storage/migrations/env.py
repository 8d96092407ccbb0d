"""Alembic environment: runs on the connection revisit hands over, or on a URL from the command
line (``alembic -c revisit/storage/alembic.ini -x url=sqlite:///revisit.sqlite upgrade head``)."""

from alembic import context
from sqlalchemy import create_engine

from revisit.storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///revisit.sqlite")
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()

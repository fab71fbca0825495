"""Flask extensions, created unbound and initialised in create_app()."""

from typing import TYPE_CHECKING, ClassVar

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

from portal.db import Base

db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    from sqlalchemy import Table

    class Model(Base):
        """db.Model as mypy should see it (Flask-SQLAlchemy builds it from Base at run time)."""

        __table__: ClassVar[Table]
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
mail = Mail()
talisman = Talisman()
bootstrap = Bootstrap5()

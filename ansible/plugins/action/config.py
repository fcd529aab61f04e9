# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Action plugin for postform.postfix.config.

Checks the option names on the controller, runs the postform binary for the
target's platform as the module and keeps the service action the change
needs pending (``plugins/plugin_utils/converge_action.py``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.postform.postfix.plugins.module_utils.argspecs import (
    CONFIG_ARGUMENT_SPEC,
    CONFIG_MUTUALLY_EXCLUSIVE,
    CONFIG_REQUIRED_ONE_OF,
)
from ansible_collections.postform.postfix.plugins.plugin_utils.converge_action import ConvergeAction


class ActionModule(ConvergeAction):

    MODULE_FQCN = 'postform.postfix.config'
    ARGUMENT_SPEC = CONFIG_ARGUMENT_SPEC
    REQUIRED_ONE_OF = CONFIG_REQUIRED_ONE_OF
    MUTUALLY_EXCLUSIVE = CONFIG_MUTUALLY_EXCLUSIVE
    UNKNOWN_OPTION_HINT = 'The spec\'s sections (main, master, maps, aliases, allow, ...) go under `spec:`.'

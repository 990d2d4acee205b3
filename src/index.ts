import * as core from "@actions/core";
import { z } from "zod";
core.info(`hello ${z.string().parse("x")}`);

from scratchbench.report import main

raise SystemExit(main())

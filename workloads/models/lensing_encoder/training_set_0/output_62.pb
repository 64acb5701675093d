
Bnew/vib/model3/biasJ(юдH>Є·$╛Й7└<`пL╛Ун<8%+=З.$=╟(Ю╜▒єi=г▀╚=